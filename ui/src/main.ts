import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { applyScale, savedScale } from "./lib/textsize";

applyScale(savedScale());

const target = document.getElementById("app");
if (!target) throw new Error("missing #app element");
export default mount(App, { target });
