"""SFace face recognizer (OpenCV Zoo, 2021dec) on onnxruntime: 112x112 RGB crops -> 128-d unit vectors.

The model normalises internally ((x - 127.5) / 128); it takes RGB in 0..255, as OpenCV's
FaceRecognizerSF.feature feeds it (blobFromImage with swapRB from a BGR crop).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

EMBEDDING_SIZE = 128


class Embedder:
    """One SFace session; `embed()` takes a batch of aligned crops."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_name = session.get_outputs()[0].name

    @staticmethod
    def preprocess(crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """(n, 112, 112, 3) uint8 RGB -> (n, 3, 112, 112) float32."""
        return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """L2-normalised float32 embeddings, shape (n, 128); n may be 0."""
        if crops.shape[0] == 0:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        raw = self.session.run([self.output_name], {self.input_name: self.preprocess(crops)})[0]
        raw = np.asarray(raw, dtype=np.float32)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return (raw / np.maximum(norms, 1e-12)).astype(np.float32)
