// Loaded with `node --import ./proxy-bootstrap.mjs ...`: sends every request of Node's built-in
// fetch through the proxy named in HTTPS_PROXY (telco-emulator's transparent HTTPS mode), so the
// seven.io client, which hard-codes https://gateway.seven.io/api, runs unmodified. Node 20's fetch
// reads undici's global dispatcher (a process-wide symbol) and honours one set by the npm undici
// package; Node itself ignores HTTPS_PROXY before version 24 (NODE_USE_ENV_PROXY). The emulator's
// CA comes from NODE_EXTRA_CA_CERTS, which Node adds to its default trust store.
import { ProxyAgent, setGlobalDispatcher } from "undici";

const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
if (proxy) {
  setGlobalDispatcher(new ProxyAgent(proxy));
}
