"""bench/results.json -> bench/RESULTS.md: the tables, and each goal of the issue checked
against the numbers (met or not, computed here, never typed in)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

HAND_GOAL = 1.05  # converted model's time / hand-written time
TF_FOLDER_GOAL = 2.2  # `--to tensorflow` folder / caffemodel
TFLITE_RSS_GOAL = 4.0  # `--to tflite` peak RSS / caffemodel
BATCHES = (1, 16)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _ms(value: float | None) -> str:
    return f"{value:.1f}" if value else "-"


def _conversion_rows(models: dict) -> list[str]:
    rows = ["| net | caffemodel MB | floor s (read + protobuf parse) | onnx s | pytorch s (with export) | "
            "tensorflow s (TF import) | onnx peak RSS MB (x caffemodel) | pytorch peak RSS MB | tf peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, entry in models.items():
        c = entry["conversion"]
        floor = c["floor"]["seconds"]
        rows.append(
            f"| {name} | {c['caffemodel_mb']:.0f} | {floor:.2f} | {c['onnx']['seconds']:.2f} "
            f"({_ratio(c['onnx']['seconds'], floor)}) | {c['pytorch']['seconds']:.2f} "
            f"({_ratio(c['pytorch']['seconds'], floor)}) | {c['tensorflow']['seconds']:.2f} "
            f"({c['tensorflow_import']['seconds']:.2f}) | {c['onnx']['peak_rss_mb']:.0f} "
            f"({c['onnx']['peak_rss_mb'] / c['caffemodel_mb']:.2f}x) | {c['pytorch']['peak_rss_mb']:.0f} | "
            f"{c['tensorflow']['peak_rss_mb']:.0f} |")
    return rows


def _fixed_costs(models: dict) -> list[str]:
    first = next(iter(models.values()))["conversion"]
    if "torch_import" not in first:
        return []
    python = first["python_start"]["seconds"]
    return [
        f"Fixed costs of the PyTorch target, measured in the same run: starting Python {python:.2f} s, "
        f"`import torch` {first['torch_import']['seconds']:.2f} s, and `torch.export` of a one-layer module "
        f"(import, trace, save; the machinery any export pays) {first['torch_export_fixed']['seconds']:.2f} s, "
        "all in a fresh process.", ""]


def _speed_table(models: dict, framework: str, columns: list[tuple[str, str]], baseline: str) -> list[str]:
    """One row per net and batch: each column's ms, with its ratio to the baseline column."""
    header = "| net | batch | " + " | ".join(title for _, title in columns) + " |"
    rows = [header, "|---|---|" + "---|" * len(columns)]
    for name, entry in models.items():
        results = entry["speed"].get(framework, {})
        if "error" in results:
            rows.append(f"| {name} | - | error: {results['error']} |")
            continue
        for batch in BATCHES:
            base = results.get(f"{baseline}_b{batch}")
            cells = []
            for key, _ in columns:
                value = results.get(f"{key}_b{batch}")
                cells.append(_ms(value) if key == baseline else f"{_ms(value)} ({_ratio(value, base)})")
            rows.append(f"| {name} | {batch} | " + " | ".join(cells) + " |")
    return rows


def _opencv_pairs(models: dict):
    """(net, batch, caffe2x's ms on onnxruntime, OpenCV's ms) for every net and batch."""
    for name, entry in models.items():
        for batch in BATCHES:
            yield (name, batch, entry["speed"].get("onnx", {}).get(f"caffe2x_b{batch}"),
                   entry["speed"].get("opencv", {}).get(f"opencv_b{batch}"))


def _opencv_rows(models: dict) -> list[str]:
    rows = ["| net | batch | ONNX Runtime, caffe2x's model | OpenCV DNN, the Caffe files | ratio |",
            "|---|---|---|---|---|"]
    for name, batch, ours, theirs in _opencv_pairs(models):
        rows.append(f"| {name} | {batch} | {_ms(ours)} | {_ms(theirs)} | {_ratio(ours, theirs)} |")
    return rows


def _verify_rows(cost: dict) -> list[str]:
    phases = cost["phases"]
    total = sum(p["seconds"] for p in phases)
    rows = [f"Per-layer `verify` of {cost['model']} (batch 1) on {', '.join(cost['targets'])} in one process: "
            f"{total:.1f} s in all, peak RSS {max(p['peak_rss_mb'] for p in phases):.0f} MB; "
            f"the `caffe2x verify` command with the same targets: {cost['cli']['seconds']:.1f} s, "
            f"peak RSS {cost['cli']['peak_rss_mb']:.0f} MB.", "",
            "| phase | seconds | share | RSS after MB | peak RSS so far MB | blobs |", "|---|---|---|---|---|---|"]
    for p in phases:
        rows.append(f"| {p['phase']} | {p['seconds']:.2f} | {100 * p['seconds'] / total:.0f}% | "
                    f"{p['rss_mb']:.0f} | {p['peak_rss_mb']:.0f} | {p.get('blobs', '')} |")
    return rows


def _profile_rows(results: dict) -> list[str]:
    profiles = results.get("pytorch_profile")
    if not profiles:
        return []
    names = list(profiles)
    phases = list(next(iter(profiles.values()))["phases"])
    rows = ["Phases of `--to pytorch`, run one after the other in a fresh process (`bench/profile_pytorch.py`; "
            "the command itself writes model.pt while it traces):", "",
            "| phase | " + " | ".join(f"{n} s" for n in names) + " |", "|---|" + "---|" * len(names)]
    for phase in phases:
        rows.append(f"| {phase} | " + " | ".join(f"{profiles[n]['phases'][phase]:.2f}" for n in names) + " |")
    rows.append("| **total** | " + " | ".join(f"{profiles[n]['total']:.2f}" for n in names) + " |")
    return rows + [""]


def _mb_ratio(value: float | None, size: float) -> str:
    return f"{value:.0f} ({value / size:.2f}x)" if value is not None else "-"


def _tf_artefact_rows(section: dict) -> list[str]:
    models, before = section["models"], section.get("before", {}).get("models", {})
    floor = section["tensorflow_import"]["peak_rss_mb"]
    names = sorted({a for entry in [*models.values(), *before.values()] for a in entry["tensorflow"]["artefacts_mb"]})
    rows = [f"Measured {section['date']} by `bench/tf_artefacts.py`: one `caffe2x convert` process per target and "
            "net, the nets one after the other; MB, ratios to the caffemodel in parentheses. "
            f"`import tensorflow` alone peaks at {floor:.0f} MB, the floor of both targets"
            + (f"; \"before\": the same script on commit {section['before']['commit']}, before the fix of "
               "issue #17 item 9" if before else "") + ".", "",
            "| net | caffemodel | tensorflow folder | before | tensorflow peak RSS | before | tflite peak RSS | "
            "tflite peak above the floor | before | .tflite file | tensorflow s | tflite s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in models.items():
        size, tf, lite, old = entry["caffemodel_mb"], entry["tensorflow"], entry["tflite"], before.get(name)
        rows.append(
            f"| {name} | {size:.0f} | {_mb_ratio(tf['folder_mb'], size)} | "
            f"{_mb_ratio(old and old['tensorflow']['folder_mb'], size)} | {_mb_ratio(tf['peak_rss_mb'], size)} | "
            f"{_mb_ratio(old and old['tensorflow']['peak_rss_mb'], size)} | {_mb_ratio(lite['peak_rss_mb'], size)} | "
            f"{_mb_ratio(lite['peak_rss_mb'] - floor, size)} | {_mb_ratio(old and old['tflite']['peak_rss_mb'], size)}"
            f" | {_mb_ratio(lite['file_mb'], size)} | {tf['seconds']:.1f} | {lite['seconds']:.1f} |")
    rows += ["", "The tensorflow folder by artefact, MB (before in parentheses):", "",
             "| net | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---|" * len(names)]
    for name, entry in models.items():
        sizes = entry["tensorflow"]["artefacts_mb"]
        old = before.get(name, {}).get("tensorflow", {}).get("artefacts_mb", {})
        cells = [(f"{sizes[n]:.1f}" if n in sizes else "-") + (f" ({old[n]:.1f})" if n in old else "") for n in names]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def _tf_artefact_goals(section: dict) -> list[str]:
    models = section["models"]
    folder = {n: e["tensorflow"]["folder_mb"] / e["caffemodel_mb"] for n, e in models.items()}
    tflite = {n: e["tflite"]["peak_rss_mb"] / e["caffemodel_mb"] for n, e in models.items()}
    return [_goal(all(r <= TF_FOLDER_GOAL for r in folder.values()),
                  f"`--to tensorflow` folder within {TF_FOLDER_GOAL}x the caffemodel: "
                  + ", ".join(f"{n} {r:.2f}x" for n, r in folder.items()) + "."),
            _goal(all(r <= TFLITE_RSS_GOAL for r in tflite.values()),
                  f"`--to tflite` peak RSS within {TFLITE_RSS_GOAL}x the caffemodel: "
                  + ", ".join(f"{n} {r:.2f}x" for n, r in tflite.items()) + ".")]


def _ssd_rows(section: dict) -> list[str]:
    c, speed = section["conversion"], section["speed"]
    floor, size = c["floor"]["seconds"], c["caffemodel_mb"]
    rows = [f"Measured {section['date']} by `bench/ssd.py` on the golden case `fixtures/golden/mobilenet_ssd` "
            f"(the real fork's blobs and its {size:.0f} MB caffemodel, input {'x'.join(map(str, section['input']))}"
            f"); medians of {section['repeats']} conversions and of {4 * section['speed_repeats']} timed runs.", "",
            "Conversion: one `caffe2x convert` process per target; ratios to the floor (read + protobuf parse "
            f"of the caffemodel, {floor:.2f} s) in parentheses; `import torch` alone "
            f"{c['torch_import']['seconds']:.2f} s, `import tensorflow` alone "
            f"{c['tensorflow_import']['seconds']:.2f} s.",
            "", "| target | seconds | peak RSS MB (x caffemodel) |", "|---|---|---|"]
    for target in ("onnx", "pytorch", "tensorflow", "tflite"):
        rows.append(f"| {target} | {c[target]['seconds']:.2f} ({_ratio(c[target]['seconds'], floor)}) | "
                    f"{_mb_ratio(c[target]['peak_rss_mb'], size)} |")
    if "error" in speed:
        return rows + ["", f"Speed: error: {speed['error']}"]
    agree, ours, theirs = speed["agreement"], speed.get("caffe2x_b1"), speed.get("opencv_b1")
    backbone, cv_detection = speed.get("caffe2x_backbone_b1"), speed["opencv_profile"]["detection_ms"]
    return rows + [
        "", f"Inference, batch 1, {speed['threads']} threads, the golden input, timed in alternating blocks in one "
        f"process. Checked first: {agree['rows_caffe2x']} detections from caffe2x's ONNX model, "
        f"{agree['rows_opencv']} from OpenCV, {agree['rows_fork']} from the fork; every row within "
        f"{agree['max_row_difference']:.1e} of OpenCV's (OpenCV sorts each image's rows by score, Caffe by label "
        f"then score: compared in Caffe's order) and within {agree['max_difference_to_fork']:.1e} of the fork's.",
        "", "| | ms | ratio to OpenCV | of which DetectionOutput ms |", "|---|---|---|---|",
        f"| ONNX Runtime, caffe2x's model | {_ms(ours)} | {_ratio(ours, theirs)} | "
        f"{(ours - backbone) if ours and backbone else 0:.1f} (the model cut before it: {_ms(backbone)}) |",
        f"| OpenCV DNN, the Caffe files | {_ms(theirs)} | 1.00x | {cv_detection:.1f} (OpenCV's layer timings) |"]


def _ssd_goal(section: dict) -> list[str]:
    speed = section["speed"]
    ours, theirs = speed.get("caffe2x_b1"), speed.get("opencv_b1")
    if not (ours and theirs):
        return [_goal(False, f"the ONNX detector is at least as fast as OpenCV DNN's: not measured "
                             f"({speed.get('error', 'no figures')}).")]
    return [_goal(ours <= theirs, f"the ONNX detector (MobileNet-SSD, batch 1) is at least as fast as OpenCV "
                                  f"DNN's: {_ms(ours)} ms against {_ms(theirs)} ms ({_ratio(ours, theirs)}).")]


def _faster_rcnn_conversion(c: dict) -> list[str]:
    verify = c.get("verify", {})
    imports = ", ".join(f"`import {m}` {s:.1f} s" for m, s in c["imports"].items())
    rows = [f"Conversion, all in one fresh process: the frameworks imported first ({imports}), the net and its "
            f"caffemodel loaded once (`caffe2x.load_net`, {c['load_net']:.1f} s), then `caffe2x.convert` per target, "
            "one after the other (verify not included); then `caffe2x.verify` per target against caffe2x's builtin "
            f"reference on the same input, tolerance {verify.get('tolerance', '-')} (its own conversion in memory, "
            f"the run and the per-blob comparison; the reference itself {verify.get('reference_seconds', 0):.1f} s, "
            "once).", "",
            "| target | convert s | output MB | verify s | verify | worst blob (normalized error) | rows |",
            "|---|---|---|---|---|---|---|"]
    for target, conv in c["convert"].items():
        v = verify.get(target)
        cells = ["-"] * 4 if not v else [
            f"{v['seconds']:.1f}", "passed" if v["passed"] else "**failed**",
            f"{v['worst_blob']} ({v['worst_normalized_error']:.1e})",
            ", ".join(f"{k} {n}" for k, n in v["rows"].items())]
        rows.append(f"| {target} | {conv['seconds']:.1f} | {conv['output_mb']:.0f} | " + " | ".join(cells) + " |")
    return rows


def _faster_rcnn_agreement(a: dict) -> list[str]:
    rpn = ", ".join(f"{k} {v:.1e}" for k, v in a["rpn_normalized_error"].items())
    same = a["cls_prob_normalized_error_same_box"], a["bbox_pred_normalized_error_same_box"]
    return [
        "Outputs compared first, on the same input (recorded, not a stop). Before the Proposal, the RPN blobs "
        f"agree (normalized max error {rpn}). ROIs: {a['rows_onnxruntime']} rows from ONNX Runtime, "
        f"{a['rows_opencv']} from OpenCV; {a['rois_leading_same_rows']} leading rows agree in place within "
        f"{a['row_match_px']} px ({a['rois_same_row']} rows in place in all; largest difference in place "
        f"{a['rois_max_difference_px']:.1f} px), and {a['rois_same_box']} of ONNX Runtime's rows have the same box "
        f"somewhere in OpenCV's. {a['rois_below_min_size_opencv']} of OpenCV's rows are smaller than "
        f"py-faster-rcnn's minimum size ({a['min_size']:g} px wide or high; ONNX Runtime's: "
        f"{a['rois_below_min_size_onnxruntime']}), and {a['rois_opencv_unmatched_not_below_min_size']} of "
        "OpenCV's rows without a same box in ONNX Runtime's are not. On the rows with the same box, cls_prob and "
        f"bbox_pred agree within {_sci(same[0])} and {_sci(same[1])} (normalized); row by row over all rows they "
        f"differ by up to {a['cls_prob_max_difference']:.2f} (cls_prob) and {a['bbox_pred_max_difference']:.2f} "
        "(bbox_pred)."]


def _sci(value: float | None) -> str:
    return f"{value:.1e}" if value is not None else "-"


def _load(m: dict) -> str:
    """The 1-minute load average before and after the run: above 1 before it, other work had the cores."""
    before, after = m["load_average_before"][0], m.get("load_average_after", [0.0])[0]
    niceness = f", the benchmark at niceness {m['nice']}" if m.get("nice") else ""
    if before <= 1:
        return f"load average {before:.1f} before the run, {after:.1f} after{niceness}"
    return (f"the machine was shared with other work (load average {before:.1f} before the run, {after:.1f} after"
            f"{niceness}): read the seconds as rough")


def _faster_rcnn_rows(section: dict) -> list[str]:
    m, c, speed = section["machine"], section["conversion"], section["speed"]
    rows = [f"Measured {section['date']} by `bench/faster_rcnn.py` on {m['cpu']}, {m['cores']} cores, Python "
            f"{m['python']}; {_load(m)}. Net: "
            f"`{section['prototxt']}` (py-faster-rcnn's ZF test net, its Python ProposalLayer included), input "
            f"{'x'.join(map(str, section['input']))}, im_info {section['im_info']}, weights "
            f"{section['weights']} at full size ({section['caffemodel_mb']:.0f} MB caffemodel), the data seeded "
            "standard-normal.", ""]
    rows += [f"Conversion: error: {c['error']}"] if "error" in c else _faster_rcnn_conversion(c)
    if "error" in speed:
        return rows + ["", f"Inference: error: {speed['error']}"]
    ours, theirs = speed["onnxruntime_ms"], speed["opencv_ms"]
    versions = ", ".join(f"{k} {v}" for k, v in speed["versions"].items())
    return rows + [
        "", f"Inference in one fresh process ({versions}), both limited to {speed['threads']} threads, the same "
        f"input; two warm-ups each, then the median of {speed['timed_runs']} runs each, timed in alternating "
        "blocks. OpenCV runs the Caffe prototxt and caffemodel, with the one layer it cannot create "
        f"(`type: \"Python\"`) rewritten as its own `type: \"Proposal\"` with `{speed['opencv_proposal']}`.", "",
        "| | ms | ratio to OpenCV |", "|---|---|---|",
        f"| ONNX Runtime, caffe2x's model | {_ms(ours)} | {_ratio(ours, theirs)} |",
        f"| OpenCV DNN, the Caffe files | {_ms(theirs)} | 1.00x |", "",
        *_opencv_layers(speed.get("opencv_layers_ms")), *_faster_rcnn_agreement(speed["agreement"]),
        *_fork_agreement(section.get("fork_agreement"))]


YOLO_TARGETS = (("reference_ms", "reference (NumPy)"), ("onnxruntime", "ONNX Runtime"),
                ("pytorch", "PyTorch (eager)"), ("keras", "Keras (tf.function)"), ("tflite", "TFLite"))


def _yolo_ms(entry) -> str:
    if isinstance(entry, dict):
        return entry.get("error", "-") if "ms" not in entry else _ms(entry["ms"])
    return _ms(entry)


def _yolo_nms_rows(section: dict) -> list[str]:
    """bench/yolo_nms.py: the detection output alone per target, before and after, per threshold."""
    before = section.get("before", {}).get("thresholds", {})
    rows = [f"Measured {section['date']} by `bench/yolo_nms.py` at commit {section['commit']} (the layer of "
            "MobileNet-YOLOv3-lite, seeded standard-normal maps, 30,000 candidates), "
            f"{section['threads']} threads, the median of {section['repeats']} runs; every target's rows first "
            "checked against the reference. "
            + (f"Before: the same script at commit {section['before']['commit']}." if before else ""), "",
            "| threshold: valid candidates, rows | target | ms | before ms |", "|---|---|---|---|"]
    for threshold, measured in section["thresholds"].items():
        total, valid = section["candidates"][threshold]
        label = f"{threshold}: {valid} of {total}, {measured['rows']} rows"
        for key, name in YOLO_TARGETS:
            earlier = before.get(threshold, {}).get(key)
            rows.append(f"| {label} | {name} | {_yolo_ms(measured.get(key))} | {_yolo_ms(earlier)} |")
            label = ""
    return rows


def _fork_agreement(a: dict | None) -> list[str]:
    """OpenCV against the real py-faster-rcnn's blobs (the thin ZF golden case), no caffe2x involved."""
    if not a:
        return []
    if "error" in a:
        return ["", f"OpenCV against the real py-faster-rcnn: error: {a['error']}"]
    return ["", f"OpenCV against the real py-faster-rcnn (pycaffe), on the thin ZF golden case `{a['case']}` "
            "(the fork's own input and blobs; OpenCV given the same rewritten Proposal): the RPN blobs agree "
            f"({', '.join(f'{v:.1e}' for v in a['rpn_normalized_error'].values())}); of the fork's "
            f"{a['rows_onnxruntime']} ROIs, {a['rois_leading_same_rows']} lead OpenCV's {a['rows_opencv']} in "
            f"place and {a['rois_same_box']} are among them; {a['rois_below_min_size_opencv']} of OpenCV's rows "
            f"are under the minimum size (the fork's: {a['rois_below_min_size_onnxruntime']}) and "
            f"{a['rois_opencv_unmatched_not_below_min_size']} of its other rows are not the fork's. On the same "
            f"boxes, cls_prob and bbox_pred agree within {_sci(a['cls_prob_normalized_error_same_box'])} and "
            f"{_sci(a['bbox_pred_normalized_error_same_box'])}."]


def _opencv_layers(layers: dict | None) -> list[str]:
    if not layers:
        return []
    return ["OpenCV's own layer timings (getPerfProfile, median of 5 runs after the timed ones): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in layers.items() if name != "all")
            + f" of {layers['all']:.0f} ms in all layers.", ""]


def _hand_ratios(models: dict, framework: str, key: str) -> list[tuple[str, int, float]]:
    found = []
    for name, entry in models.items():
        results = entry["speed"].get(framework, {})
        for batch in BATCHES:
            ours, hand = results.get(f"{key}_b{batch}"), results.get(f"handwritten_b{batch}")
            if ours and hand:
                found.append((name, batch, ours / hand))
    return found


def _goal(met: bool, text: str) -> str:
    return f"- **{'met' if met else 'NOT met'}**: {text}"


def goals(results: dict) -> list[str]:
    models = results["models"]
    lines = []
    vgg = models.get("vgg16", {}).get("conversion")
    if vgg:
        time_ratio = vgg["onnx"]["seconds"] / vgg["floor"]["seconds"]
        rss_ratio = vgg["onnx"]["peak_rss_mb"] / vgg["caffemodel_mb"]
        lines.append(_goal(time_ratio <= 2 and rss_ratio <= 2.5, f"`--to onnx` of VGG-16: {time_ratio:.2f}x the "
                           f"floor in time (goal 2x), peak RSS {rss_ratio:.2f}x the caffemodel (goal 2.5x)."))
    pytorch = {name: e["conversion"]["pytorch"]["seconds"] / e["conversion"]["floor"]["seconds"]
               for name, e in models.items()}
    lines.append(_goal(all(r <= 3 for r in pytorch.values()), "`--to pytorch` within 3x the floor: " + ", ".join(
        f"{name} {r:.1f}x" for name, r in pytorch.items()) + " (see below)."))
    for framework, key, label in (("onnx", "caffe2x", "ONNX Runtime"), ("pytorch", "caffe2x_eager", "PyTorch eager"),
                                  ("pytorch", "caffe2x_exported", "PyTorch exported"),
                                  ("tensorflow", "caffe2x", "Keras")):
        ratios = _hand_ratios(models, framework, key)
        if ratios:
            worst = max(ratios, key=lambda r: r[2])
            lines.append(_goal(worst[2] <= HAND_GOAL, f"{label} within {HAND_GOAL}x hand-written: median "
                               f"{statistics.median(r[2] for r in ratios):.2f}x, worst {worst[2]:.2f}x "
                               f"({worst[0]}, batch {worst[1]}), over {len(ratios)} net/batch pairs."))
    cv = [(name, batch, ours / theirs) for name, batch, ours, theirs in _opencv_pairs(models) if ours and theirs]
    if cv:
        slower = [f"{n} batch {b} ({r:.2f}x)" for n, b, r in cv if r >= 1]
        lines.append(_goal(not slower, "faster than OpenCV's DNN module: " + (
            "every net and batch" if not slower else "except " + ", ".join(slower)) + "."))
    cost = results.get("verify_cost")
    if cost:
        compares = [p for p in cost["phases"] if p["phase"].endswith(": compare")]
        alive = sum(p["alive_after"] for p in compares)
        held = max(p["rss_mb"] for p in cost["phases"])
        lines.append(_goal(alive == 0 and all(p["passed"] for p in compares),
                           f"verify of {cost['model']} on {len(compares)} targets passes and frees each target's "
                           f"blobs before the next one runs ({alive} still alive after their comparison; RSS never "
                           f"above {held:.0f} MB)."))
    if results.get("tf_artefacts"):
        lines += _tf_artefact_goals(results["tf_artefacts"])
    if results.get("ssd"):
        lines += _ssd_goal(results["ssd"])
    return lines


def merge_section(name: str, section, folder: Path) -> None:
    """Put one section into folder/results.json (the other sections kept as they are) and
    regenerate folder/RESULTS.md: how each single-section bench script saves its run."""
    path = folder / "results.json"
    results = json.loads(path.read_text())
    results[name] = section(results.get(name)) if callable(section) else section
    path.write_text(json.dumps(results, indent=1))
    write_markdown(results, folder / "RESULTS.md")


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    models = results["models"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        "# caffe2x benchmark results", "",
        f"Measured {results['date']} by `bench/run.py` on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_mb']} MB, Python {m['python']} ({m['platform']}); {versions}. "
        f"Every figure is a median of {results['repeats']} runs (speed: {results.get('speed_repeats', 5)} "
        f"at batch 16, {4 * results.get('speed_repeats', 5)} at batch 1, after 2 warm-ups), "
        f"frameworks limited to {m['threads']} threads; ratios compare numbers taken side by side in this run. "
        "Weights from `caffe2x synth-weights`. Raw numbers: `bench/results.json`.", "",
        "## Goals", "", *goals(results), "",
        "## Conversion cost", "",
        "Wall time and peak RSS of one `caffe2x convert` process, against the floor measured in the same run: "
        "a Python process that reads the caffemodel and parses it with protobuf. Ratios to the floor in "
        "parentheses; TensorFlow's own import time in parentheses after its conversion time.", "",
        *_conversion_rows(models), "", *_fixed_costs(models), *_profile_rows(results),
        "## Converted-model speed", "",
        "Milliseconds per batch on the CPU; ratios to the hand-written implementation of the same net in the "
        "same framework, with the same weights (`bench/handwritten_*.py`; each is checked to compute the same "
        "outputs as caffe2x's model before it is timed). PyTorch's three are timed in turns, run by run; "
        "ONNX Runtime sessions and Keras models in alternating blocks (see the notes).", "",
        "### ONNX Runtime", "",
        "Hand-written: the hand-written PyTorch net exported by `torch.onnx.export`.", "",
        *_speed_table(models, "onnx", [("caffe2x", "caffe2x"), ("handwritten", "hand-written")], "handwritten"), "",
        "### PyTorch", "",
        *_speed_table(models, "pytorch", [("caffe2x_eager", "caffe2x eager"),
                                          ("caffe2x_exported", "caffe2x exported"),
                                          ("handwritten", "hand-written")], "handwritten"), "",
        "### Keras (TensorFlow)", "",
        *_speed_table(models, "tensorflow", [("caffe2x", "caffe2x"), ("handwritten", "hand-written (NHWC)")],
                      "handwritten"), "",
        "### Against OpenCV's DNN module", "",
        *_opencv_rows(models), "",
    ]
    if results.get("verify_cost"):
        lines += ["## Verify cost", "", *_verify_rows(results["verify_cost"]), ""]
    if results.get("tf_artefacts"):
        lines += ["## TensorFlow artefacts", "", *_tf_artefact_rows(results["tf_artefacts"]), ""]
    if results.get("ssd"):
        lines += ["## MobileNet-SSD", "", *_ssd_rows(results["ssd"]), ""]
    if results.get("faster_rcnn"):
        lines += ["## Faster R-CNN ZF", "", *_faster_rcnn_rows(results["faster_rcnn"]), ""]
    if results.get("yolo_nms"):
        lines += ["## YOLO detection output", "", *_yolo_nms_rows(results["yolo_nms"]), ""]
    notes = Path(__file__).with_name("NOTES.md")
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    write_markdown(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
