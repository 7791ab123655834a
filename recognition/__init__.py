"""The recognition core: detect faces, embed them, tell who they are. Plain Python, no Flask.

rgb = load_image(data)
analyzer = FaceAnalyzer.from_bundle("models")
faces = analyzer.detect(rgb)
embeddings = analyzer.embed(rgb, faces)
threshold = calibration.threshold_for(analyzer.embedder.name, len(set(their_ids)), 0.01)
classifier = FaceClassifier.fit(embeddings_of_people, their_ids, threshold, analyzer.embedding_space)
classifier.predict(embeddings)  # -> [Prediction(label, score, threshold, candidates)]
"""

from .analyzer import Face, FaceAnalyzer
from .bundle import BundleError
from .classifier import UNKNOWN, FaceClassifier, Prediction
from .images import InvalidImage, load_image

__all__ = [
    "UNKNOWN",
    "BundleError",
    "Face",
    "FaceAnalyzer",
    "FaceClassifier",
    "InvalidImage",
    "Prediction",
    "load_image",
]
