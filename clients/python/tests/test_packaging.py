"""`pip install clients/python` works offline: the in-folder build backend needs no download."""

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

from support import CLIENT_DIR


class Packaging(unittest.TestCase):
    def test_the_wheel_holds_the_module_and_a_record_whose_hashes_match(self):
        sys.path.insert(0, CLIENT_DIR)
        import _build

        with tempfile.TemporaryDirectory() as out:
            name = _build.build_wheel(out)
            self.assertEqual(name, "edgewatch_client-0.1.0-py3-none-any.whl")
            with zipfile.ZipFile(os.path.join(out, name)) as z:
                names = set(z.namelist())
                self.assertIn("edgewatch_client.py", names)
                with open(os.path.join(CLIENT_DIR, "edgewatch_client.py"), "rb") as f:
                    self.assertEqual(z.read("edgewatch_client.py"), f.read())
                record = z.read("edgewatch_client-0.1.0.dist-info/RECORD").decode().splitlines()
                for line in record:
                    path, digest, size = line.rsplit(",", 2)
                    if path.endswith("RECORD"):
                        continue
                    data = z.read(path)
                    want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    self.assertEqual((digest, int(size)), (f"sha256={want}", len(data)), path)
                self.assertEqual({r.rsplit(",", 2)[0] for r in record}, names)
                self.assertIn("Requires-Python: >=3.9", z.read("edgewatch_client-0.1.0.dist-info/METADATA").decode())

    def test_pip_installs_the_folder_with_no_package_index(self):
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            message = "pip is not installed for this python: apt-get install -y python3-pip"
            if os.environ.get("CI") == "true":
                self.fail(message + " (required under CI=true)")
            self.skipTest(message)
        with tempfile.TemporaryDirectory() as target:
            r = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--isolated", "--no-index", "--no-cache-dir",
                 "--disable-pip-version-check", "--target", target, CLIENT_DIR],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = subprocess.run(
                [sys.executable, "-c", "import edgewatch_client as e; print(e.__version__, e.__file__)"],
                capture_output=True, text=True, cwd=target, env={**os.environ, "PYTHONPATH": target},
            )  # fmt: skip
            self.assertEqual(r.stdout.split()[0], "0.1.0", r.stderr)
            self.assertEqual(r.stdout.split()[1], os.path.join(target, "edgewatch_client.py"))


if __name__ == "__main__":
    unittest.main()
