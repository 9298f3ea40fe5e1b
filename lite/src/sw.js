// The service worker: boots Pyodide, installs the wheels listed in wheels.json, and answers
// every request under its scope (./app/) from the Datasette ASGI app in-process — every
// method, so forms, POSTs, the JSON write API, sign-in and redirects all work.
//
// Module worker with static imports only: import() is not allowed in service workers, so
// Pyodide's WebAssembly module factory is imported here and handed to loadPyodide.
import { loadPyodide } from "./pyodide/pyodide.mjs";
import createPyodideModule from "./pyodide/pyodide.asm.mjs";

const SITE = new URL("./", self.location.href);
const SCOPE = new URL("./app/", self.location.href);
// Databases and the internal database live here, an Emscripten IDBFS folder kept in the
// browser's IndexedDB (database "/data"), so they survive reloads and worker restarts.
const DATA_DIR = "/data";

let ready = null;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function syncfs(py, populate) {
  return new Promise((resolve, reject) =>
    py.FS.syncfs(populate, (error) => (error ? reject(error) : resolve())),
  );
}

async function boot() {
  const started = performance.now();
  const py = await loadPyodide({ indexURL: new URL("pyodide/", SITE).href, createPyodideModule });
  const manifest = await (await fetch(new URL("wheels.json", SITE))).json();
  await Promise.all(
    manifest.wheels.map(async (name) => {
      const bytes = await (await fetch(new URL(`wheels/${name}`, SITE))).arrayBuffer();
      py.unpackArchive(new Uint8Array(bytes), "wheel");
    }),
  );
  // Bytecode compiled at build time (compile-pyc.mjs): imports skip compiling the sources.
  const pycache = await (await fetch(new URL("pycache.zip", SITE))).arrayBuffer();
  py.unpackArchive(new Uint8Array(pycache), "zip");
  const module = await (await fetch(new URL("datasette_lite.py", SITE))).text();
  py.FS.writeFile("/home/pyodide/datasette_lite.py", module);
  py.FS.mkdirTree(DATA_DIR);
  let storage = "IndexedDB";
  try {
    py.FS.mount(py.FS.filesystems.IDBFS, {}, DATA_DIR);
    await syncfs(py, true);
  } catch (error) {
    storage = `memory only (${error})`;
  }
  const lite = py.pyimport("datasette_lite");
  const facts = lite.boot(DATA_DIR, SCOPE.pathname, false).toJs({ dict_converter: Object.fromEntries });
  await syncfs(py, false).catch(() => {});
  facts.storage = storage;
  facts.started_ms = Math.round(performance.now() - started);
  return { py, lite, facts };
}

function start() {
  if (!ready) {
    ready = boot();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

// Saving to IndexedDB after every write, one save at a time.
let saving = Promise.resolve();
function persist(py) {
  saving = saving.then(() => syncfs(py, false)).catch((error) => console.warn("save failed", error));
  return saving;
}

async function answer(request) {
  const { py, lite } = await start();
  const headers = [...request.headers.entries()];
  const body =
    request.method === "GET" || request.method === "HEAD"
      ? new Uint8Array()
      : new Uint8Array(await request.arrayBuffer());
  const result = await lite.handle(request.method, request.url, headers, body);
  const [status, outHeaders, bytes] = result.toJs();
  result.destroy();
  if (request.method !== "GET" && request.method !== "HEAD") {
    await persist(py);
  }
  const bodyless = request.method === "HEAD" || [101, 204, 205, 304].includes(status);
  return new Response(bodyless ? null : bytes, { status, headers: outHeaders });
}

self.addEventListener("fetch", (event) => {
  if (!event.request.url.startsWith(SCOPE.href)) {
    return;
  }
  event.respondWith(
    answer(event.request).catch(
      (error) =>
        new Response(`Datasette Lite failed: ${error}\n${error.stack || ""}`, {
          status: 500,
          headers: { "content-type": "text/plain; charset=utf-8" },
        }),
    ),
  );
});

// Messages from the launcher page (index.html): boot, load data, sign in, wipe.
async function onMessage(data) {
  const { py, lite, facts } = await start();
  switch (data.type) {
    case "boot":
      return facts;
    case "add-file": {
      const route = await lite.add_database_file(data.name, new Uint8Array(data.bytes));
      await persist(py);
      return { route };
    }
    case "add-url": {
      const response = await fetch(data.url);
      if (!response.ok) throw new Error(`${data.url}: HTTP ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const name = new URL(data.url, SITE).pathname.split("/").pop() || "data.db";
      const route = /\.csv$/i.test(name)
        ? await lite.add_csv(name, new TextDecoder().decode(bytes))
        : await lite.add_database_file(name, bytes);
      await persist(py);
      return { route };
    }
    case "add-csv": {
      const route = await lite.add_csv(data.name, data.text);
      await persist(py);
      return { route };
    }
    case "restart": {
      // Start a fresh interpreter that reads everything back from IndexedDB.
      await persist(py);
      lite.shutdown();
      ready = null;
      return (await start()).facts;
    }
    case "root":
      return { url: lite.root_login_path() };
    default:
      throw new Error(`unknown message ${data.type}`);
  }
}

self.addEventListener("message", (event) => {
  const port = event.ports[0];
  event.waitUntil(
    onMessage(event.data).then(
      (result) => port.postMessage({ ok: true, result }),
      (error) => port.postMessage({ ok: false, error: String(error) }),
    ),
  );
});
