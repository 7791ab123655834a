"""The LFW calibration set (../shared/faces/lfw) embedded once per embedder, cached outside the repo.

Each photo's subject is chosen as the service chooses it at enrolment (recognition.subject):
LFW's subject is the face nearest the centre, often beside a bystander. A photo with no face or
no clear subject keeps a row of NaN and `accepted=False`.

    python benchmarks/lfw.py --embedder sface     # embeds (minutes), then prints the counts

The set is not in the repository (tests/data holds only the few LFW photos tests name):
FACEREC_LFW points elsewhere than ../shared/faces/lfw.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recognition import FaceAnalyzer, load_image  # noqa: E402
from recognition.networks.embedder import normalize  # noqa: E402
from recognition.networks.fusion import FUSIONS  # noqa: E402
from recognition.subject import choose_subject  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LFW = Path(os.environ.get("FACEREC_LFW", ROOT.parent / "shared" / "faces" / "lfw"))
CACHE = Path(os.environ.get("FACEREC_CACHE", Path.home() / ".cache" / "facerec")) / "lfw"
MIN_FACE_SIZE = 40  # the service's default


@dataclass
class LfwEmbeddings:
    """One row per photo: enrolled people's photos first, then the strangers'."""

    embedder: str
    paths: np.ndarray  # str, relative to the LFW folder
    people: np.ndarray  # str; strangers are named too, but never enrolled
    stranger: np.ndarray  # bool
    accepted: np.ndarray  # bool: a face and a clear subject were found
    embeddings: np.ndarray  # float32 [photos, dim], NaN where not accepted


def photos(root: Path = LFW) -> list[tuple[str, str, bool]]:
    """(relative path, person, is stranger), sorted, enrolled people first."""
    rows = [
        (str(p.relative_to(root)), p.parent.name, False)
        for p in sorted((root / "enrolled").glob("*/*.jpg"))
    ]
    rows += [
        (str(p.relative_to(root)), p.stem.rsplit("_", 1)[0], True)
        for p in sorted((root / "strangers").glob("*.jpg"))
    ]
    return rows


def embed_all(analyzer: FaceAnalyzer, root: Path = LFW) -> LfwEmbeddings:
    listing = photos(root)
    vectors = np.full((len(listing), analyzer.embedder.dim), np.nan, np.float32)
    accepted = np.zeros(len(listing), bool)
    for row, (path, _, _) in enumerate(listing):
        rgb = load_image((root / path).read_bytes())
        faces = analyzer.detect(rgb)
        chosen = choose_subject([f.box for f in faces], rgb.shape[1], rgb.shape[0])
        if chosen is not None:
            vectors[row] = analyzer.embed(rgb, [faces[chosen]])[0]
            accepted[row] = True
    paths, people, stranger = (np.array(column) for column in zip(*listing, strict=True))
    return LfwEmbeddings(analyzer.embedder.name, paths, people, stranger, accepted, vectors)


def load(embedder: str, bundle_dir: Path = ROOT / "models") -> LfwEmbeddings:
    """The cached embeddings of every LFW photo for this embedder and bundle (made if missing)."""
    if embedder in FUSIONS:  # what FusedEmbedder computes, from the parts' caches
        parts = [load(part, bundle_dir) for part in FUSIONS[embedder].parts]
        fused = normalize(np.hstack([part.embeddings for part in parts]))
        accepted = np.logical_and.reduce([part.accepted for part in parts])
        first = parts[0]
        return LfwEmbeddings(embedder, first.paths, first.people, first.stranger, accepted, fused)
    analyzer = FaceAnalyzer.from_bundle(
        bundle_dir, threads=1, min_face_size=MIN_FACE_SIZE, embedder=embedder
    )
    cache = CACHE / f"{analyzer.embedding_space.replace('@', '-')}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as saved:
            return LfwEmbeddings(
                embedder,
                *(saved[k] for k in ("paths", "people", "stranger", "accepted", "embeddings")),
            )
    started = time.perf_counter()
    result = embed_all(analyzer)
    print(
        f"embedded {len(result.paths)} photos with {embedder} in {time.perf_counter() - started:.0f} s"
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp.npz")
    np.savez(
        partial,
        paths=result.paths,
        people=result.people,
        stranger=result.stranger,
        accepted=result.accepted,
        embeddings=result.embeddings,
    )
    partial.replace(cache)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="sface")
    data = load(parser.parse_args().embedder)
    enrolled = ~data.stranger
    print(
        f"{data.embedder}: {enrolled.sum()} photos of {len(set(data.people[enrolled]))} people, "
        f"{data.stranger.sum()} strangers; subject found in {data.accepted[enrolled].mean():.1%} "
        f"and {data.accepted[data.stranger].mean():.1%}"
    )


if __name__ == "__main__":
    main()
