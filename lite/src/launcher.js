// The launcher page: registers the service worker, waits for Python to start, loads data
// (?url=, a chosen file, a CSV) by messaging the worker, then opens the app under app/.
const status = document.getElementById("status");
const openLink = document.getElementById("open");

function say(text, isError = false) {
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function worker() {
  if (!("serviceWorker" in navigator)) {
    throw new Error("This browser has no service workers (they also need https or localhost).");
  }
  const registration = await navigator.serviceWorker.register("sw.js", { type: "module", scope: "./app/" });
  if (registration.active) return registration.active;
  const pending = registration.installing || registration.waiting;
  await new Promise((resolve) => {
    pending.addEventListener("statechange", () => pending.state === "activated" && resolve());
  });
  return registration.active;
}

async function ask(message, transfer = []) {
  const active = await worker();
  const channel = new MessageChannel();
  const reply = new Promise((resolve, reject) => {
    channel.port1.onmessage = ({ data }) => (data.ok ? resolve(data.result) : reject(new Error(data.error)));
  });
  active.postMessage(message, [channel.port2, ...transfer]);
  return reply;
}

function go(route) {
  // A route from Python already carries the app/ prefix (base_url).
  window.location.href = route;
}

async function loadFile(file) {
  say(`Loading ${file.name}…`);
  const message = /\.csv$/i.test(file.name)
    ? { type: "add-csv", name: file.name, text: await file.text() }
    : { type: "add-file", name: file.name, bytes: await file.arrayBuffer() };
  const { route } = await ask(message, message.bytes ? [message.bytes] : []);
  go(route);
}

async function loadUrl(url) {
  say(`Loading ${url}…`);
  const { route } = await ask({ type: "add-url", url });
  go(route);
}

async function main() {
  const started = performance.now();
  const facts = await ask({ type: "boot" });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(`Ready in ${seconds} s: ${facts.databases.join(", ")}. Data is kept in ${facts.storage}.`);
  document.getElementById("where").dataset.storage = facts.storage;
  openLink.hidden = false;
  const url = new URLSearchParams(window.location.search).get("url");
  if (url) await loadUrl(url);
}

document.getElementById("url-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadUrl(new FormData(event.target).get("url")).catch((error) => say(String(error), true));
});
document.getElementById("file").addEventListener("change", (event) => {
  const [file] = event.target.files;
  if (file) loadFile(file).catch((error) => say(String(error), true));
});
document.getElementById("root").addEventListener("click", () => {
  ask({ type: "root" }).then(({ url }) => go(url)).catch((error) => say(String(error), true));
});

document.getElementById("restart").addEventListener("click", () => {
  say("Restarting Python…");
  const started = performance.now();
  ask({ type: "restart" })
    .then((facts) => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      say(`Ready again in ${seconds} s: ${facts.databases.join(", ")}. Data is kept in ${facts.storage}.`);
    })
    .catch((error) => say(String(error), true));
});

main().catch((error) => say(`Could not start: ${error}`, true));
