"""Reduced precision on LFW: ONNX Runtime int8 versions of SFace, dlib's ResNet and MTCNN
against the fp32 bundle, on accuracy and speed.

    .venv/bin/python benchmarks/quantize.py [--networks sface dlib mtcnn] [--calibration 256]

Every variant is judged as the service would run it: the fused `sface+dlib` embedding of each
LFW photo's subject (the subject chosen as at enrolment, MTCNN min face 40), then
- pair accuracy: every same-person pair of `enrolled/` against as many different-person pairs
  (seeded), 10-fold (threshold chosen on nine folds, counted on the tenth);
- open-set at 100 and 1,000 people (benchmarks/openset.py's protocol and calibrated thresholds):
  enrolled people named right and strangers answered unknown.
Reads the LFW calibration set in ../shared/faces/lfw (FACEREC_LFW overrides it).
Adoption rule (issue 14): pair accuracy drops by <= 0.2 points and stranger rejection does not drop.

Variants: `static` (QDQ, per-channel int8 weights, uint8 activations, MinMax ranges from
`--calibration` LFW faces spread over the whole set), `dynamic` (int8 weights, activations
quantised per call), and `prelu` (fp32, each PRelu rewritten as Relu(x) + slope * Min(x, 0):
the same numbers, but ONNX Runtime's PRelu kernel is slow) and `prelu-static` (both). The
quantised files are written to
~/.cache/facerec/quantized, never into the bundle.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw  # noqa: E402
import openset  # noqa: E402

from recognition import bundle, load_image  # noqa: E402
from recognition.align import align_face  # noqa: E402
from recognition.networks import NETWORKS  # noqa: E402
from recognition.networks.embedder import normalize  # noqa: E402
from recognition.networks.mtcnn import MTCNN, ONET, PNET, RNET  # noqa: E402
from recognition.runtime import create_session  # noqa: E402
from recognition.subject import choose_subject  # noqa: E402

BUNDLE = lfw.ROOT / "models"
WORK = lfw.CACHE.parent / "quantized"
MTCNN_FILES = {"pnet": PNET, "rnet": RNET, "onet": ONET}
FUSED = ("sface", "dlib")


# --- the LFW subjects, found once with the fp32 MTCNN -------------------------------------------


def detect_subjects(mtcnn: MTCNN) -> tuple[np.ndarray, np.ndarray]:
    """(accepted [photos], landmarks [photos, 5, 2]) of each LFW photo's subject."""
    listing = lfw.photos()
    accepted = np.zeros(len(listing), bool)
    landmarks = np.full((len(listing), 5, 2), np.nan, np.float32)
    for row, (path, _, _) in enumerate(listing):
        rgb = load_image((lfw.LFW / path).read_bytes())
        found = mtcnn.detect(rgb)
        chosen = choose_subject([tuple(box) for box in found.boxes], rgb.shape[1], rgb.shape[0])
        if chosen is not None:
            accepted[row] = True
            landmarks[row] = found.landmarks[chosen]
    return accepted, landmarks


def fp32_subjects() -> tuple[np.ndarray, np.ndarray]:
    """detect_subjects with the bundle's MTCNN, cached beside benchmarks/lfw.py's embeddings."""
    manifest = bundle.load_manifest(BUNDLE)
    key = manifest["files"][PNET]["sha256"][:16]
    cache = lfw.CACHE / f"subjects-mtcnn-{key}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as saved:
            return saved["accepted"], saved["landmarks"]
    accepted, landmarks = detect_subjects(mtcnn_from({}))
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp.npz")
    np.savez(partial, accepted=accepted, landmarks=landmarks)
    partial.replace(cache)
    return accepted, landmarks


def chips(network: str, landmarks: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The network's NCHW float32 input for the given photos' subjects."""
    spec = NETWORKS[network]
    listing = lfw.photos()
    out = np.empty((len(rows), 3, spec.size, spec.size), np.float32)
    for i, row in enumerate(rows):
        rgb = load_image((lfw.LFW / listing[row][0]).read_bytes())
        chip = align_face(rgb, landmarks[row], spec.template, spec.size)
        out[i] = chip.astype(np.float32).transpose(2, 0, 1)
    return out


# --- variants ------------------------------------------------------------------------------------


def bundle_path(name: str) -> Path:
    return BUNDLE / name


def prelu_as_relu(source: Path, target: Path) -> Path:
    """`source` with each PRelu rewritten as the bundle build does it (bundler/sface_dequantize.py)."""
    import onnx
    from onnx import numpy_helper

    from bundler.sface_dequantize import prelu_as_relu as rewrite

    model = onnx.load(str(source))
    constants: dict[str, np.ndarray] = {}
    nodes = rewrite(list(model.graph.node), constants)
    model.graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in constants.items())
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return target


class _Batches:
    """onnxruntime.quantization's CalibrationDataReader over a list of inputs."""

    def __init__(self, input_name: str, batches: list[np.ndarray]):
        self._feeds = iter([{input_name: batch} for batch in batches])

    def get_next(self):
        return next(self._feeds, None)


def quantize(source: Path, kind: str, calibration: list[np.ndarray] | None) -> Path:
    """An int8 copy of `source`: `static` (QDQ, calibrated) or `dynamic`."""
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    WORK.mkdir(parents=True, exist_ok=True)
    prepared = WORK / f"{source.stem}-prepared.onnx"
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    target = WORK / f"{source.stem}-{kind}.onnx"
    if kind == "dynamic":
        quantize_dynamic(str(prepared), str(target), per_channel=True, weight_type=QuantType.QInt8)
        return target
    input_name = ort.InferenceSession(str(prepared)).get_inputs()[0].name
    quantize_static(
        str(prepared),
        str(target),
        _Batches(input_name, calibration),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    return target


def session(path: Path):
    return create_session(path.read_bytes(), 1)


def mtcnn_from(paths: dict[str, Path]) -> MTCNN:
    """An MTCNN (min face 40, as served) on the given files, the bundle's for the rest."""
    files = {net: paths.get(net, bundle_path(name)) for net, name in MTCNN_FILES.items()}
    return MTCNN(*(session(files[net]) for net in MTCNN_FILES), min_face_size=40)


class _Recorder:
    """A session that keeps what it was fed: MTCNN's real inputs for calibration."""

    def __init__(self, inner, keep: list):
        self.inner, self.keep = inner, keep

    def run(self, outputs, feed):
        self.keep.append(next(iter(feed.values())))
        return self.inner.run(outputs, feed)


def mtcnn_calibration(rows: np.ndarray) -> dict[str, list[np.ndarray]]:
    """What P-, R- and O-Net see while the fp32 MTCNN detects the given LFW photos."""
    mtcnn = mtcnn_from({})
    seen: dict[str, list[np.ndarray]] = {net: [] for net in MTCNN_FILES}
    for net in MTCNN_FILES:
        setattr(mtcnn, net, _Recorder(getattr(mtcnn, net), seen[net]))
    listing = lfw.photos()
    for row in rows:
        mtcnn.detect(load_image((lfw.LFW / listing[row][0]).read_bytes()))
    return seen


# --- measures ------------------------------------------------------------------------------------


def embed(path: Path, inputs: np.ndarray, batch: int = 16) -> np.ndarray:
    run = session(path)
    name = run.get_inputs()[0].name
    rows = [run.run(None, {name: inputs[i : i + batch]})[0] for i in range(0, len(inputs), batch)]
    return normalize(np.concatenate(rows))


def ms_per_face(path: Path, inputs: np.ndarray, repeat: int = 40) -> float:
    """Median ms of one face through the network (batch 1, 1 thread, as a request runs it)."""
    run = session(path)
    name = run.get_inputs()[0].name
    for i in range(3):
        run.run(None, {name: inputs[i : i + 1]})
    times = []
    for i in range(repeat):
        face = inputs[i % len(inputs) : i % len(inputs) + 1]
        started = time.perf_counter()
        run.run(None, {name: face})
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def pair_accuracy(data: lfw.LfwEmbeddings, folds: int = 10, seed: int = 0) -> float:
    """LFW-style verification accuracy on every same-person pair and as many impostor pairs."""
    people = openset.by_person(data)
    same = [(a, b) for rows in people.values() for i, a in enumerate(rows) for b in rows[i + 1 :]]
    usable = np.flatnonzero(data.accepted)
    rng = np.random.default_rng(seed)
    different = []
    while len(different) < len(same):
        a, b = rng.choice(usable, 2, replace=False)
        if data.people[a] != data.people[b]:
            different.append((a, b))
    pairs = np.array(same + different)
    truth = np.r_[np.ones(len(same), bool), np.zeros(len(different), bool)]
    score = np.einsum("ij,ij->i", data.embeddings[pairs[:, 0]], data.embeddings[pairs[:, 1]])
    fold = rng.permutation(len(pairs)) % folds
    right = 0
    for k in range(folds):
        train, test = fold != k, fold == k
        candidates = np.unique(score[train])
        accuracy = [((score[train] >= t) == truth[train]).mean() for t in candidates[::5]]
        threshold = candidates[::5][int(np.argmax(accuracy))]
        right += ((score[test] >= threshold) == truth[test]).sum()
    return right / len(pairs)


def judge(data: lfw.LfwEmbeddings) -> dict:
    """Pair accuracy and the open-set means over benchmarks/openset.py's draws."""
    result = {"pairs": pair_accuracy(data)}
    for size in openset.SIZES:
        runs = [openset.evaluate(data, size, seed) for seed in range(openset.DRAWS)]
        result[f"named_{size}"] = float(np.mean([r["known_right"] for r in runs]))
        result[f"strangers_{size}"] = float(np.mean([r["strangers_rejected"] for r in runs]))
    return result


def fused(base: lfw.LfwEmbeddings, accepted: np.ndarray, parts: dict[str, np.ndarray]):
    """LfwEmbeddings of `sface+dlib` from each part's [photos, 128] unit vectors."""
    vectors = normalize(np.hstack([parts[name] for name in FUSED]))
    vectors[~accepted] = np.nan
    return lfw.LfwEmbeddings(
        "sface+dlib", base.paths, base.people, base.stranger, accepted, vectors
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["sface", "dlib", "mtcnn"])
    parser.add_argument("--variants", nargs="+", default=["static", "dynamic", "prelu"])
    parser.add_argument("--calibration", type=int, default=256, help="LFW photos to calibrate on")
    args = parser.parse_args()

    base = lfw.load("sface")
    accepted, landmarks = fp32_subjects()
    rows = np.flatnonzero(accepted)
    calibration_rows = rows[:: max(1, len(rows) // args.calibration)][: args.calibration]
    inputs = {name: chips(name, landmarks, rows) for name in FUSED}
    reference = {}
    for name in FUSED:
        vectors = np.full((len(accepted), 128), np.nan, np.float32)
        vectors[rows] = embed(bundle_path(NETWORKS[name].graph), inputs[name])
        reference[name] = vectors
    cached = lfw.load("sface+dlib")
    same = np.abs(fused(base, accepted, reference).embeddings[rows] - cached.embeddings[rows])
    print(f"fp32 here vs benchmarks/lfw.py's cache: max |difference| {np.nanmax(same):.2e}")

    print_header()
    print_row("fp32", "-", judge(fused(base, accepted, reference)), {}, {})
    for network in args.networks:
        for kind in args.variants:
            if network == "mtcnn":
                print_row(*mtcnn_variant(kind, base, calibration_rows, landmarks))
                continue
            source = bundle_path(NETWORKS[network].graph)
            position = np.searchsorted(rows, calibration_rows)
            calibration = [inputs[network][i : i + 1] for i in position]
            if kind.startswith("prelu"):
                source_or_rewritten = prelu_as_relu(source, WORK / f"{source.stem}-prelu.onnx")
                quantized = kind.removeprefix("prelu").removeprefix("-")
                variant = (
                    quantize(source_or_rewritten, quantized, calibration)
                    if quantized
                    else source_or_rewritten
                )
            else:
                variant = quantize(source, kind, calibration)
            vectors = reference[network].copy()
            vectors[rows] = embed(variant, inputs[network])
            agreement = np.einsum("ij,ij->i", vectors[rows], reference[network][rows])
            speed = {
                "fp32_ms": ms_per_face(source, inputs[network]),
                "ms": ms_per_face(variant, inputs[network]),
            }
            parts = {**reference, network: vectors}
            detail = {"cos_min": float(agreement.min()), "cos_mean": float(agreement.mean())}
            print_row(network, kind, judge(fused(base, accepted, parts)), speed, detail)


def mtcnn_variant(kind, base, calibration_rows, landmarks):
    """All three MTCNN networks in the variant; subjects re-detected, embedded in fp32."""
    seen = mtcnn_calibration(calibration_rows) if kind.endswith("static") else {}
    paths = {}
    for net, name in MTCNN_FILES.items():
        source = bundle_path(name)
        calibration = [batch for batch in seen.get(net, []) if len(batch)]
        if kind.startswith("prelu"):
            source = prelu_as_relu(source, WORK / f"{source.stem}-prelu.onnx")
            kind_left = kind.removeprefix("prelu").removeprefix("-")
            paths[net] = quantize(source, kind_left, calibration) if kind_left else source
        else:
            paths[net] = quantize(source, kind, calibration)
    accepted, found = detect_subjects(mtcnn_from(paths))
    rows = np.flatnonzero(accepted)
    parts = {}
    for name in FUSED:
        vectors = np.full((len(accepted), 128), np.nan, np.float32)
        vectors[rows] = embed(bundle_path(NETWORKS[name].graph), chips(name, found, rows))
        parts[name] = vectors
    reference_rows = np.flatnonzero(~np.isnan(landmarks[:, 0, 0]))
    both = np.intersect1d(rows, reference_rows)
    shift = np.abs(found[both] - landmarks[both]).max(axis=(1, 2))
    detail = {
        "subjects": f"{len(rows)} vs {len(reference_rows)}",
        "landmark_px_median": float(np.median(shift)),
        "landmark_px_p99": float(np.percentile(shift, 99)),
    }
    listing = lfw.photos()
    photos = [load_image((lfw.LFW / listing[row][0]).read_bytes()) for row in calibration_rows]
    speed = {"fp32_ms": mtcnn_ms(mtcnn_from({}), photos), "ms": mtcnn_ms(mtcnn_from(paths), photos)}
    return ("mtcnn", kind, judge(fused(base, accepted, parts)), speed, detail)


def mtcnn_ms(mtcnn: MTCNN, photos: list[np.ndarray]) -> float:
    """Median ms of one detection on a 250 px LFW photo (about an edge crop's size)."""
    mtcnn.detect(photos[0])
    times = []
    for rgb in photos:
        started = time.perf_counter()
        mtcnn.detect(rgb)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def print_header() -> None:
    print(
        "| network | variant | pair accuracy | named right 100 / 1000 | strangers unknown "
        "100 / 1000 | ms per face (fp32) | agreement |"
    )
    print("|---|---|---|---|---|---|---|")


def print_row(network, kind, measured, speed, detail) -> None:
    timing = f"{speed['ms']:.2f} ({speed['fp32_ms']:.2f})" if speed else ""
    agreement = ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in detail.items()
    )
    print(
        f"| {network} | {kind} | {measured['pairs']:.2%} | "
        f"{measured['named_100']:.2%} / {measured['named_1000']:.2%} | "
        f"{measured['strangers_100']:.2%} / {measured['strangers_1000']:.2%} | {timing} | "
        f"{agreement} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
