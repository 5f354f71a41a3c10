"""Drives the DWT 18 era's REST client (PyPI `twain-wia-sane-scanner` 1.0.0, module
`dynamsoftservice`) for test_dwt18_client.py. It runs in .venv-dwt18, since the current client
in .venv has the same module name. Prints one JSON object on stdout.

  dwt18_driver.py list HOST [TYPE]
  dwt18_driver.py scan HOST OUTDIR BODY_JSON files|streams
  dwt18_driver.py streams HOST JOBID

For HTTPS the client verifies against REQUESTS_CA_BUNDLE, which the test sets to the service's CA.
"""
import json
import os
import sys

import dynamsoftservice
from dynamsoftservice import ScannerController


def scan(controller, host, outdir, body, mode):
    job = controller.scanDocument(host, body)
    if not job:
        return {"job": "", "files": []}
    files = []
    if mode == "streams":
        # The client's loop that reads pages until 410.
        for number, data in enumerate(controller.getImageStreams(host, job), start=1):
            path = os.path.join(outdir, f"stream-{number:03}.jpg")
            with open(path, "wb") as f:
                f.write(data)
            files.append(path)
    else:
        # getImageFile page by page, as getImageFiles does, but each into a folder of its own:
        # the client names files by the millisecond, so two fast pages would share a name.
        while True:
            folder = os.path.join(outdir, f"page-{len(files) + 1:03}")
            os.makedirs(folder, exist_ok=True)
            name = controller.getImageFile(host, job, folder)
            if not name:
                os.rmdir(folder)
                break
            files.append(os.path.join(folder, name))
    controller.deleteJob(host, job)
    return {"job": job, "files": files}


def main(argv):
    controller = ScannerController()
    command, host = argv[1], argv[2]
    if command == "list":
        scanner_type = int(argv[3]) if len(argv) > 3 else None
        result = {"devices": controller.getDevices(host, scanner_type)}
    elif command == "scan":
        result = scan(controller, host, argv[3], json.loads(argv[4]), argv[5])
    elif command == "streams":
        result = {"count": len(controller.getImageStreams(host, argv[3]))}
    else:
        raise SystemExit(f"unknown command {command}")
    result["version"] = dynamsoftservice.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
