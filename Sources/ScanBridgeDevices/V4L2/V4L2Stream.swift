import CLibV4L2
import Glibc
import ScanBridgeCore

/// `ioctl`, retrying EINTR; returns 0 or -errno.
func ioctlRetrying<T>(_ fd: Int32, _ request: UInt, _ argument: inout T) -> Int32 {
    while true {
        let result = withUnsafeMutablePointer(to: &argument) { sb_v4l2_ioctl(fd, request, $0) }
        if result >= 0 { return 0 }
        let code = Syscall.currentErrno
        if code != EINTR { return -code }
    }
}

/// One open capture device streaming through memory-mapped buffers: every ioctl, mmap and poll
/// of a capture is in this class. It is confined to the camera's device thread (the type is
/// `@unchecked Sendable` only so that jobs can carry it there) and never touched elsewhere; its
/// owner (`CameraSession`) closes it there, so it has no deinit of its own.
final class V4L2Stream: @unchecked Sendable {
    private struct Mapping {
        var address: UnsafeMutableRawPointer
        var length: Int
    }

    let cameraID: String
    let path: String
    private var fd: Int32 = -1
    private var mappings: [Mapping] = []
    private var streaming = false
    private(set) var format = CameraCaptureFormat(pixelFormat: .yuyv, width: 0, height: 0)
    private(set) var bytesPerLine = 0

    init(cameraID: String, path: String) {
        self.cameraID = cameraID
        self.path = path
    }

    /// Opens the node, sets `wanted` (the driver may adjust the size; the result is `format`)
    /// and starts streaming into `bufferCount` mapped buffers.
    func open(_ wanted: CameraCaptureFormat, bufferCount: Int = 4) throws(ScanBridgeError) {
        let path = self.path
        do {
            fd = try Syscall.checked("open", path: path) { sb_v4l2_open(path, O_RDWR | O_NONBLOCK) }
        } catch {
            switch error.errno {
            case EBUSY: throw busy(.errno(error.errno))
            case ENOENT, ENODEV, ENXIO: throw gone("it cannot be opened", error.errno)
            default: throw failure("opening \(path)", error.errno)
            }
        }
        var requested = v4l2_format()
        requested.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        requested.fmt.pix.width = UInt32(wanted.width)
        requested.fmt.pix.height = UInt32(wanted.height)
        requested.fmt.pix.pixelformat = wanted.pixelFormat.code
        requested.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        try check(ioctlRetrying(fd, SB_VIDIOC_S_FMT, &requested), "setting the format")
        guard let actual = CameraPixelFormat(code: requested.fmt.pix.pixelformat) else {
            throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported,
                                  message: "Camera \(cameraID) answered format \(fourccText(requested.fmt.pix.pixelformat)) for \(wanted.pixelFormat.rawValue)")
        }
        format = CameraCaptureFormat(pixelFormat: actual, width: Int(requested.fmt.pix.width), height: Int(requested.fmt.pix.height))
        bytesPerLine = Int(requested.fmt.pix.bytesperline)

        var request = v4l2_requestbuffers()
        request.count = UInt32(bufferCount)
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        try check(ioctlRetrying(fd, SB_VIDIOC_REQBUFS, &request), "requesting buffers")
        guard request.count > 0 else { throw failure("requesting buffers (the driver granted none)", EINVAL) }
        for index in 0..<request.count {
            var buffer = makeBuffer(index: index)
            try check(ioctlRetrying(fd, SB_VIDIOC_QUERYBUF, &buffer), "querying buffer \(index)")
            let length = Int(buffer.length)
            guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(buffer.m.offset)),
                  address != MAP_FAILED else {
                throw failure("mapping buffer \(index)", Syscall.currentErrno)
            }
            mappings.append(Mapping(address: address, length: length))
            try check(ioctlRetrying(fd, SB_VIDIOC_QBUF, &buffer), "queueing buffer \(index)")
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        try check(ioctlRetrying(fd, SB_VIDIOC_STREAMON, &type), "starting the stream")
        streaming = true
    }

    /// The next frame's bytes, waiting at most `timeoutMilliseconds` for it. A device that
    /// disappears (unplugged) fails with -1023 and says so.
    func nextFrame(timeoutMilliseconds: Int32) throws(ScanBridgeError) -> [UInt8] {
        guard streaming else { throw ScanBridgeError(code: DeviceErrorCode.outOfSequence, message: "Camera \(cameraID) is not streaming") }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutMilliseconds))
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = max(0, Int32((deadline - .now) / .milliseconds(1)))
            let ready: Int32
            do {
                ready = try Syscall.checked("poll", path: path) { poll(&descriptor, 1, remaining) }
            } catch {
                throw failure("waiting for a frame", error.errno)
            }
            if ready == 0 {
                throw ScanBridgeError(code: DeviceErrorCode.deviceOffline,
                                      message: "Camera \(cameraID) delivered no frame within \(timeoutMilliseconds) ms")
            }
            if descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && descriptor.revents & Int16(POLLIN) == 0 {
                throw gone("it stopped streaming", ENODEV)
            }
            var buffer = makeBuffer(index: 0)
            let status = ioctlRetrying(fd, SB_VIDIOC_DQBUF, &buffer)
            if status == -EAGAIN { continue }
            try check(status, "taking a frame")
            let index = Int(buffer.index)
            guard mappings.indices.contains(index) else { throw failure("taking a frame (buffer \(index) unknown)", EINVAL) }
            let used = min(Int(buffer.bytesused), mappings[index].length)
            let bytes = [UInt8](UnsafeRawBufferPointer(start: mappings[index].address, count: used))
            try check(ioctlRetrying(fd, SB_VIDIOC_QBUF, &buffer), "queueing buffer \(index)")
            if buffer.flags & UInt32(V4L2_BUF_FLAG_ERROR) != 0 || used == 0 { continue }
            return bytes
        }
    }

    /// Stops streaming, unmaps the buffers and closes the node. Idempotent; errors are ignored
    /// (a vanished device refuses everything, and its resources go with the descriptor).
    func close() {
        guard fd >= 0 else { return }
        if streaming {
            var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
            _ = ioctlRetrying(fd, SB_VIDIOC_STREAMOFF, &type)
            streaming = false
        }
        for mapping in mappings { munmap(mapping.address, mapping.length) }
        mappings.removeAll()
        var release = v4l2_requestbuffers()
        release.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        release.memory = V4L2_MEMORY_MMAP.rawValue
        _ = ioctlRetrying(fd, SB_VIDIOC_REQBUFS, &release)
        Syscall.close(fd)
        fd = -1
    }

    private func makeBuffer(index: UInt32) -> v4l2_buffer {
        var buffer = v4l2_buffer()
        buffer.index = index
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        buffer.memory = V4L2_MEMORY_MMAP.rawValue
        return buffer
    }

    private func check(_ status: Int32, _ what: String) throws(ScanBridgeError) {
        guard status != 0 else { return }
        switch -status {
        case EBUSY: throw busy(.errno(-status))
        case ENODEV, ENXIO: throw gone("\(what) failed", -status)
        default: throw failure(what, -status)
        }
    }

    private func busy(_ cause: ScanBridgeError.Cause) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.busy, message: "The camera \(cameraID) is busy: another program or job is using it",
                        cause: cause)
    }

    private func gone(_ what: String, _ code: Int32) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.deviceOffline,
                        message: "The camera \(cameraID) (\(path)) is gone: \(what); was it unplugged?", cause: .errno(code))
    }

    private func failure(_ what: String, _ code: Int32) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "Camera \(cameraID): \(what) failed", cause: .errno(code))
    }
}
