// Preloaded with `node --import` before jco: jco 1.35 runs wasm-tools as a component on
// @bytecodealliance/preview2-shim, which preopens no directory, so jco cannot read or write
// files. This grants the host filesystem at "/" (pass jco absolute paths). The shim is found
// the way jco's own wasm-tools finds it, so both share one module instance.
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const jco = fileURLToPath(new URL("./node_modules/@bytecodealliance/jco/dist/jco.js", import.meta.url));
const wasmTools = createRequire(jco).resolve("@bytecodealliance/jco-transpile/wasm-tools");
const shim = createRequire(wasmTools).resolve("@bytecodealliance/preview2-shim/filesystem");
const { _setPreopens } = await import(pathToFileURL(shim).href);
_setPreopens({ "/": "/" });
