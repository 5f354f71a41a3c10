"""The camera tests' STAND-IN FOR ABSENT HARDWARE, from Python: builds standin.c (next to this
file) with gcc, writes the JPEG frames its MJPEG format delivers (Pillow), creates the device
node, and gives the environment that makes a `scanbridge` process see the stand-in camera.
Loaded by file path from Tests/Conformance/test_camera.py and Tests/Browser/test_camera_demo.py."""
import os
import subprocess

from PIL import Image

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin.c")
JPEG_SIZES = [(640, 480), (320, 240)]
# The stand-in's YUYV bars, left to right, as (Y, U, V) (see standin.c).
YUYV_BARS = [(235, 128, 128), (81, 90, 240), (41, 240, 110), (16, 128, 128)]


def bt601_rgb(y, u, v):
    """BT.601 limited range to RGB, the textbook floating-point form."""
    c, d, e = y - 16, u - 128, v - 128
    clamp = lambda value: max(0, min(255, round(value)))
    return (clamp(1.164 * c + 1.596 * e), clamp(1.164 * c - 0.392 * d - 0.813 * e), clamp(1.164 * c + 2.017 * d))


def jpeg_pattern(width, height):
    """The MJPEG frames' picture: a red left half, a blue right half."""
    image = Image.new("RGB", (width, height))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def assert_yuyv_bars(image, width, height):
    """`image` is the stand-in's YUYV frame converted to RGB: the four bars, exactly (±2)."""
    assert image.size == (width, height)
    expected = [bt601_rgb(*bar) for bar in YUYV_BARS]
    rgb = image.convert("RGB")
    for y in range(0, height, max(1, height // 12)):
        for x in range(width):
            actual = rgb.getpixel((x, y))
            wanted = expected[x * 4 // width]
            assert all(abs(a - b) <= 2 for a, b in zip(actual, wanted)), f"pixel {x},{y}: {actual} != {wanted}"


def assert_jpeg_pattern(image, width, height):
    assert image.size == (width, height)
    rgb = image.convert("RGB")
    for x, colour in [(width // 4, (255, 0, 0)), (3 * width // 4, (0, 0, 255))]:
        actual = rgb.getpixel((x, height // 2))
        assert all(abs(a - b) <= 12 for a, b in zip(actual, colour)), f"{actual} != {colour}"


class StandIn:
    """One stand-in camera in `folder`: the library, the device folder with its node, the JPEGs."""

    def __init__(self, folder):
        self.folder = folder
        self.library = os.path.join(folder, "libv4l2-standin.so")
        self.devices = os.path.join(folder, "dev")
        self.node = os.path.join(self.devices, "video0")
        self.jpegs = os.path.join(folder, "jpeg")
        os.makedirs(folder, exist_ok=True)
        # Built here from source, so a fresh clone needs nothing but gcc.
        subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o", self.library, SOURCE,
                        "-ldl", "-lpthread"], check=True)
        os.makedirs(self.devices)
        os.makedirs(self.jpegs)
        for width, height in JPEG_SIZES:
            jpeg_pattern(width, height).save(os.path.join(self.jpegs, f"{width}x{height}.jpg"), quality=90)
        self.plug_in()

    @property
    def environment(self):
        return {"LD_PRELOAD": self.library, "SB_V4L2_STANDIN_DEVICE": self.node, "SB_V4L2_STANDIN_JPEG_DIR": self.jpegs,
                "SCANBRIDGE_CAMERADEVICEFOLDER": self.devices}

    def jpeg(self, width, height):
        with open(os.path.join(self.jpegs, f"{width}x{height}.jpg"), "rb") as f:
            return f.read()

    def plug_in(self):
        open(self.node, "a").close()

    def unplug(self):
        os.remove(self.node)

    def stall(self, stalled=True):
        """A stalled camera streams but sends no frame."""
        if stalled:
            open(self.node + ".stall", "a").close()
        else:
            os.remove(self.node + ".stall")


def start_with_standin(start_service, standin, home, extra=()):
    """`start_service(home, extra)` with the stand-in's environment in the child only."""
    saved = dict(os.environ)
    os.environ.update(standin.environment)
    try:
        return start_service(home, list(extra))
    finally:
        os.environ.clear()
        os.environ.update(saved)
