// Build step 2 (after build.py): compile every module of the wheels to bytecode with
// Pyodide's own Python, so the browser does not compile ~20k lines of source on each boot.
// Writes dist/pycache.zip (only __pycache__/*.pyc, unchecked-hash so no source timestamps
// are consulted), unpacked over site-packages after the wheels.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "dist");
const py = await loadPyodide();
const { wheels } = JSON.parse(fs.readFileSync(path.join(dist, "wheels.json"), "utf8"));
for (const name of wheels) {
  py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, "wheels", name))), "wheel");
}
py.runPython(`
import compileall, io, os, py_compile, zipfile
root = os.getcwd()  # unpackArchive's default target, first on sys.path
compileall.compile_dir(root, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
    for folder, _, files in os.walk(root):
        if os.path.basename(folder) == "__pycache__":
            for name in files:
                full = os.path.join(folder, name)
                zf.write(full, os.path.relpath(full, root))
with open("/tmp/pycache.zip", "wb") as fp:
    fp.write(buffer.getvalue())
`);
fs.writeFileSync(path.join(dist, "pycache.zip"), py.FS.readFile("/tmp/pycache.zip"));
console.log(`lite/dist/pycache.zip: ${(fs.statSync(path.join(dist, "pycache.zip")).size / 1e6).toFixed(1)} MB`);
process.exit(0);
