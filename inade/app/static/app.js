// The page: talks to the JSON API in inade/app/server.py.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { session: null, size: [64, 64], classes: [], paintClass: 0, refSource: null, busy: false,
                perInstance: true, imageEncoder: false, maxUpload: Infinity };

function showMessage(text, isNote) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
  box.className = isNote ? "note" : "";
}

async function call(path, body) {
  if (state.busy) return null;
  state.busy = true;
  document.body.dataset.busy = "1";
  try {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                         body: JSON.stringify(Object.assign({ session: state.session, whole_image: $("whole-image").checked }, body)) });
    const payload = await response.json();
    if (!response.ok || payload.error) { showMessage(payload.error || `request failed (${response.status})`); return null; }
    return payload;
  } catch (error) {
    showMessage(`the server did not answer: ${error}`);
    return null;
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
}

function show(view) {
  if (!view) return;
  if (view.session) state.session = view.session;
  $("image").src = view.image;
  $("label").src = view.label;
  $("image").dataset.version = String((Number($("image").dataset.version) || 0) + 1);
  $("download-image").href = `/api/download/image?session=${state.session}`;
  $("download-styles").href = `/api/download/styles?session=${state.session}`;
  // the instance list doubles as keyboard-reachable buttons: redraw one by its id
  const list = $("instances");
  list.replaceChildren(...view.instances.map((inst) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.textContent = `${inst.id}: ${inst.class_name}`;
    button.dataset.id = inst.id;
    button.title = "redraw this instance";
    button.disabled = !state.perInstance;
    button.onclick = async () => show(await call("/api/resample", { id: inst.id }));
    item.append(button);
    return item;
  }));
  const present = [...new Set(view.instances.map((inst) => inst.class))];
  $("class-select").replaceChildren(...present.map((cls) => {
    const option = document.createElement("option");
    option.value = cls;
    option.textContent = state.classes[cls] ? state.classes[cls].name : `class ${cls}`;
    return option;
  }));
  if (view.reference) {
    $("reference").src = view.reference;
    $("reference-figure").hidden = false;
  }
  showMessage(view.notes && view.notes.length ? view.notes.join("\n") : "", true);
}

function fileUpload(input) {
  const file = input.files[0];
  if (!file) return Promise.resolve(null);
  // base64 makes files a third larger on the way; refuse here what the server would refuse
  if (file.size * 4 / 3 > state.maxUpload) {
    return Promise.reject(new Error(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB, ` +
                                    `more than the ${(state.maxUpload * 3 / 4 / 2 ** 20).toFixed(0)} MB the page accepts`));
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ name: file.name, data: reader.result });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function mapPoint(img, event) {
  // the click in the map's own pixels, whatever size the picture is shown at
  const box = img.getBoundingClientRect();
  return { x: Math.floor((event.clientX - box.left) / box.width * state.size[1]),
           y: Math.floor((event.clientY - box.top) / box.height * state.size[0]) };
}

// --- painting -------------------------------------------------------------
const canvas = $("paint");
const paintIds = () => state.paintIds;
function setupCanvas() {
  canvas.width = state.size[1];
  canvas.height = state.size[0];
  state.paintIds = new Array(state.size[0] * state.size[1]).fill(0);
  redrawCanvas();
}
function redrawCanvas() {
  const ctx = canvas.getContext("2d");
  const picture = ctx.createImageData(canvas.width, canvas.height);
  paintIds().forEach((cls, i) => {
    const hex = state.classes[cls] ? state.classes[cls].color : "#000000";
    picture.data.set([parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16), 255], i * 4);
  });
  ctx.putImageData(picture, 0, 0);
}
function paintAt(event) {
  const { x, y } = mapPoint(canvas, event);
  const radius = Number($("brush").value);
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const px = x + dx, py = y + dy;
      if (px >= 0 && py >= 0 && px < state.size[1] && py < state.size[0] && dx * dx + dy * dy <= radius * radius) {
        state.paintIds[py * state.size[1] + px] = state.paintClass;
      }
    }
  }
  redrawCanvas();
}
canvas.addEventListener("pointerdown", (e) => { canvas.setPointerCapture(e.pointerId); paintAt(e); });
canvas.addEventListener("pointermove", (e) => { if (e.buttons) paintAt(e); });
$("clear-canvas").onclick = () => { state.paintIds.fill(state.paintClass); redrawCanvas(); };
$("edit-current").onclick = async () => {
  if (!state.session) return showMessage("load a label map first");
  const map = await call("/api/label_ids", {});
  if (!map) return;
  state.paintIds = map.ids;
  redrawCanvas();
};

// --- actions ----------------------------------------------------------------
$("load-example").onclick = async () => show(await call("/api/open", { example: Number($("example").value) }));
async function withUploads(action) {
  try {
    await action();
  } catch (error) {
    showMessage(error.message || String(error));
  }
}
$("load-upload").onclick = () => withUploads(async () => {
  const label = await fileUpload($("label-file"));
  if (!label) return showMessage("choose a label map file first");
  show(await call("/api/open", { label, instance: await fileUpload($("instance-file")) }));
});
$("load-painted").onclick = async () => show(await call("/api/open", {
  painted: { ids: state.paintIds, height: state.size[0], width: state.size[1] } }));
$("new-noise").onclick = async () => show(await call("/api/new_noise", {}));
$("resample-class").onclick = async () => show(await call("/api/resample_class", { class: $("class-select").value }));
$("image").addEventListener("click", async (event) => {
  if (!state.session) return;
  const point = mapPoint($("image"), event);
  if (state.refSource) {
    const source = state.refSource;
    state.refSource = null;
    $("reference-caption").textContent = "click an instance of the reference, then one of the image";
    return show(await call("/api/copy", { ref_x: source.x, ref_y: source.y, x: point.x, y: point.y }));
  }
  show(await call("/api/resample", point));
});
$("reference").addEventListener("click", async (event) => {
  if (!$("reference").src) return;
  // SPADE/CLADE: one style for the whole image, so one click copies it
  if (!state.perInstance) return show(await call("/api/copy_image", {}));
  state.refSource = mapPoint($("reference"), event);
  $("reference-caption").textContent = "now click the instance of the image that should take this style";
});
$("load-reference-example").onclick = async () =>
  show(await call("/api/reference", { reference_example: Number($("reference-example").value) }));
$("load-reference-upload").onclick = () => withUploads(async () => {
  const photo = await fileUpload($("reference-photo"));
  const label = await fileUpload($("reference-label"));
  if (!photo || !label) return showMessage("choose the reference photo and its label map");
  show(await call("/api/reference", { reference_photo: photo, reference_label: label,
                                      reference_instance: await fileUpload($("reference-instance")) }));
});

async function start() {
  const info = await (await fetch("/api/info")).json();
  state.size = info.size;
  state.classes = info.classes;
  state.perInstance = info.per_instance;
  state.imageEncoder = info.image_encoder;
  state.maxUpload = info.max_upload_bytes;
  // pictures keep the model's aspect ratio (e.g. 2:1 for Cityscapes) at a fixed height
  for (const id of ["image", "label", "reference", "paint"]) $(id).style.aspectRatio = `${info.size[1]} / ${info.size[0]}`;
  for (const select of [$("example"), $("reference-example")]) {
    select.replaceChildren(...info.examples.map((name, i) => {
      const option = document.createElement("option");
      option.value = i;
      option.textContent = name;
      return option;
    }));
  }
  $("palette").replaceChildren(...info.classes.map((cls) => {
    const button = document.createElement("button");
    button.textContent = cls.name;
    button.style.background = cls.color;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(cls.color.slice(i, i + 2), 16));
    button.style.color = 0.299 * r + 0.587 * g + 0.114 * b < 128 ? "#fff" : "#000";
    button.onclick = () => {
      state.paintClass = cls.id;
      [...$("palette").children].forEach((b) => b.classList.remove("active"));
      button.classList.add("active");
    };
    if (cls.id === state.paintClass) button.classList.add("active");
    return button;
  }));
  if (!info.per_instance) {
    $("click-hint").textContent = "This model has one image-level style: use New image noise.";
    $("resample-class").disabled = true;
    $("reference-caption").textContent = info.image_encoder ? "click the reference photo to copy its style"
      : "this model has no image encoder: it cannot copy a photo's style";
    if (!info.image_encoder) $("reference-panel").querySelectorAll("button, input, select").forEach((el) => { el.disabled = true; });
  }
  setupCanvas();
  if (info.examples.length) show(await call("/api/open", { example: 0 }));
  document.body.dataset.ready = "1";
}
start();
