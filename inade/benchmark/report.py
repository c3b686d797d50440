"""Reading results: the console table, before/after comparisons, the scaling
table and figure, and the reference numbers and targets of issue #10."""
from __future__ import annotations

from ..errors import InadeError
from ..tables import text_table
from .measure import SCALING

# The reference PyTorch release, paper setting, VGG off, measured on the machine
# issue #10 was written on. Its GFLOP count is of its own operations: its D step
# runs G and E again, and its INADE norm multiplies over all classes and instances.
REFERENCE_PYTORCH = {"paper": {"train_iteration": {"seconds": 12.1, "gflop": 614.0, "peak_memory_gb": 6.2},
                               "generator_inference": {"gflop": 98.0}}}

# Issue #10's targets for the paper setting: (section, key, "<=" or ">=", bound).
TARGETS = {"paper": (("train_iteration", "seconds", "<=", 6.0),
                     ("train_iteration", "gflop_per_second", ">=", 90.0),
                     ("train_iteration", "peak_memory_gb", "<=", 3.0),
                     ("generator_inference", "seconds", "<=", 1.2))}

SECTIONS = (("train_iteration", "training iteration"), ("generator_inference", "generator inference"),
            ("encoder_inference", "encoder inference"),
            ("exported_generator_inference", "exported generator"), ("exported_encoder_inference", "exported encoder"))
MEASURES = tuple((section, key) for section, _ in SECTIONS
                 for key in ("seconds", "images_per_second", "gflop_per_second", "peak_memory_gb"))


def _number(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _get(result: dict, section: str, key: str | None = None):
    value = result.get(section)
    if key is not None:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _row(name, label, measures: dict, peak):
    """``peak``: this run's matmul rate, or None for numbers taken elsewhere."""
    rate, gflop = measures.get("gflop_per_second"), measures.get("gflop")
    return (name, label, _number(measures.get("seconds")), _number(measures.get("images_per_second"), 2),
            _number(gflop, 1 if (gflop or 0) >= 10 else 3), _number(rate, 1),
            "-" if rate is None or peak is None else f"{rate / peak:.0%}",
            _number(measures.get("peak_memory_gb"), 2))


def table(results: dict) -> str:
    peak = results["matmul_peak_gflop_per_second"]
    machine = results.get("machine", {})
    lines = [f"fp32 matmul peak here: {peak:.1f} GFLOP/s (2048 x 2048, same run); {machine.get('cpu', '?')}, "
             f"{machine.get('cores', '?')} cores, OMP_NUM_THREADS={machine.get('omp_num_threads')}, "
             f"load {_number(machine.get('load_average_1min'), 1)}, "
             f"convolutions: {machine.get('cpu_convolutions', 'Paddle')}"]
    rows = [("configuration", "measure", "seconds", "images/s", "GFLOP", "GFLOP/s", "of peak", "peak GB")]
    for name, result in results["configurations"].items():
        for section, label in SECTIONS:
            if section in result:
                rows.append(_row(name, label, result[section], peak))
        reference = REFERENCE_PYTORCH.get(name, {}).get("train_iteration")
        if reference:
            seconds, gflop = reference["seconds"], reference["gflop"]
            rows.append(_row(f"{name} (PyTorch reference)", "training iteration",
                             {"seconds": seconds, "gflop": gflop, "gflop_per_second": gflop / seconds,
                              "peak_memory_gb": reference["peak_memory_gb"],
                              "images_per_second": result["setting"]["batch_size"] / seconds}, None))
    lines.append(text_table(rows))
    for name, result in results["configurations"].items():
        parts = ", ".join(f"{k.replace('_', ' ')} {_number(v)}" for k, v in result.get("breakdown_seconds", {}).items())
        lines.append(f"{name} breakdown, seconds (forward + backward; an iteration runs the discriminator twice): {parts}")
        floors = result.get("convolution_floor", {})
        if floors:
            lines.append(f"{name} convolution floor (its convolutions alone, each timed in isolation with the kernel its layer runs): "
                         + "; ".join(f"{section.replace('_', ' ')} {floor['seconds']:.3f} s of {_number(_get(result, section, 'seconds'))}"
                                     for section, floor in floors.items()))
        alongside = [f"{label} {_number(result[section]['seconds'])} s against eager "
                     f"{_number(result[section]['eager_seconds_alongside'])} s "
                     f"(outputs differ by at most {result[section]['max_abs_difference_to_eager']:.1e})"
                     for section, label in SECTIONS if section.startswith("exported_") and section in result]
        if alongside:
            lines.append(f"{name} exported model (Paddle Inference), timed alternately with eager sampling: "
                         + "; ".join(alongside))
        checks = []
        for section, key, relation, bound in TARGETS.get(name, ()):
            value = _get(result, section, key)
            if value is not None:
                met = value <= bound if relation == "<=" else value >= bound
                floor = floors.get(section, {}).get("seconds") if key == "seconds" else None
                beyond = " (below its convolution floor)" if not met and floor is not None and floor > bound else ""
                checks.append(f"{section}.{key} {value:.2f} {relation} {bound} {'met' if met else 'NOT met'}{beyond}")
        if checks:
            lines.append(f"{name} targets: " + "; ".join(checks))
    return "\n".join(lines)


def compare(before: dict, after: dict) -> str:
    """Before / after / after-over-before of each measure, for the settings both
    files have (a measure one of them lacks shows as -)."""
    common = [name for name in after.get("configurations", {}) if name in before.get("configurations", {})]
    if not common:
        raise InadeError("the two result files have no configuration in common")
    rows = [("configuration", "measure", "before", "after", "after/before")]
    peaks = before.get("matmul_peak_gflop_per_second"), after.get("matmul_peak_gflop_per_second")
    rows.append(("machine", "matmul_peak_gflop_per_second", _number(peaks[0], 1), _number(peaks[1], 1),
                 _ratio(*peaks)))
    for name in common:
        old_result, new_result = before["configurations"][name], after["configurations"][name]
        measures = list(MEASURES) + [("breakdown_seconds", key) for key in
                                     dict.fromkeys([*old_result.get("breakdown_seconds", {}),
                                                    *new_result.get("breakdown_seconds", {})])]
        measures.append(("peak_memory_gb", None))
        for section, key in measures:
            old, new = _get(old_result, section, key), _get(new_result, section, key)
            if old is None and new is None:
                continue
            rows.append((name, section if key is None else f"{section}.{key}", _number(old), _number(new), _ratio(old, new)))
    text = text_table(rows)
    if None not in peaks and abs(peaks[1] / peaks[0] - 1) > 0.15:
        text += "\nnote: the matmul peaks differ by more than 15%: another machine, or another load on it"
    return text


def _ratio(old, new) -> str:
    return f"{new / old:.2f}" if old and new is not None else "-"


def _share_of_peak(result: dict, point: dict) -> float | None:
    """A point's GFLOP/s against the sweep's matmul peak (None for files without them)."""
    rate, peak = point["train_iteration"].get("gflop_per_second"), result.get("matmul_peak_gflop_per_second")
    return rate / peak if rate and peak else None


def scaling_table(result: dict) -> str:
    rows = [("sweep", "value", "seconds/iteration", "images/s", "GFLOP", "GFLOP/s", "of peak", "peak GB")]
    for sweep in (name for name in SCALING if name in result):  # results written before a sweep existed lack it
        for value, point in result[sweep].items():
            rows.append(_row(sweep, value, point["train_iteration"], result.get("matmul_peak_gflop_per_second")))
    return text_table(rows)


def scaling_figure(result: dict, path: str) -> None:
    """Seconds per training iteration against image size, instances and batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..atomic import atomic_path

    base = result.get("base", {})
    crop, instances = base.get("crop_size", "?"), base.get("num_instances", "?")
    labels = {"resolution": f"image size (pixels; {instances} instances)",
              "instances": f"instances ({crop} x {crop})",
              "batch": f"batch size ({crop} x {crop}, {instances} instances)"}
    panels = [(sweep, labels[sweep]) for sweep in SCALING if sweep in result]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (sweep, label) in zip(axes, panels):
        points = sorted((int(value), point["train_iteration"]["seconds"], _share_of_peak(result, point))
                        for value, point in result[sweep].items())
        xs, ys = [x for x, _, _ in points], [y for _, y, _ in points]
        ax.plot(xs, ys, "o-")
        for x, y, share in points:
            text = f"{y:.2f} s" + ("" if share is None else f", {share:.0%}")
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_ylim(0, max(ys) * 1.2)
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per training iteration")
        ax.grid(alpha=0.3)
    peak = result.get("matmul_peak_gflop_per_second")
    of_peak = f"; % of the fp32 matmul peak ({peak:.0f} GFLOP/s, same run)" if peak else ""
    fig.suptitle(f"{base.get('name', '')} setting, batch {base.get('batch_size', '?')}{of_peak}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
