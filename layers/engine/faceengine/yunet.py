"""YuNet face detector (OpenCV Zoo, 2023mar) on onnxruntime: boxes, scores and five landmarks.

Decoding follows OpenCV's FaceDetectorYN: for strides 8/16/32, score = sqrt(clip(cls)·clip(obj)), box
centre = (col + dx, row + dy)·stride, size = exp(dw, dh)·stride, landmarks = (col + kx, row + ky)·stride;
then greedy NMS (IoU 0.3). Input is BGR float 0..255, zero-padded bottom/right to a multiple of 32.

Input size (size-adaptive): the image is downscaled so that its longer side is at most MAX_SIDE (never
upscaled), keeping the aspect ratio, then padded to a multiple of 32. Measured on insightface's t1.jpg
(1280x886, 6 people, faces about 95-115 px), single thread: long side 320 -> 6 faces (9 ms), 480 -> 6
(13 ms), 640 -> 6 (18 ms), 960 -> 6 (37 ms, scores 0.90-0.94), native 1280 -> 6 (47 ms); a squashed
640x640 input also gave 6 here (the "4 at 640" reported in the issue was not reproduced with this
decoder and Pillow's antialiased resize). MAX_SIDE = 960 keeps faces of
40 px in a 1920x1080 photo (Rekognition's minimum) at 20 px, inside YuNet's range, at half the cost of
native resolution for 12-megapixel photos.

Adaptive (the default): detect at FIRST_SIDE (640, YuNet ~2x cheaper than at 960) and re-detect at
MAX_SIDE only when nothing was found or the smallest face found is under TINY_FACE px at the detector's
input, where faces smaller still may have been missed. Landmarks are always mapped back to the original
image, so alignment uses full-resolution pixels whatever the detector saw. Measured by bench.accuracy on
t1.jpg and its mosaics (6 to 216 faces of 100 to 17 px): the same recall as always detecting at 960.
The downscale is Pillow's box `reduce()` by the integer part of the factor, then bilinear for the rest:
about 2x cheaper than one antialiased bilinear resize of a large photo, with the same box-filtered result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from PIL import Image

logger = logging.getLogger(__name__)

MAX_SIDE = 960
# A search uses only the largest face: a smaller input finds it and halves detection time.
SEARCH_MAX_SIDE = 640
# ... and takes any input whose longer side lies in [SEARCH_MIN_SIDE, SEARCH_MAX_SIDE] when a box `reduce()` by
# an integer alone gets there (a 1200 px photo: 600 px for ~1 ms instead of a ~5 ms bilinear resize to 640).
# Measured by bench.accuracy's search verification: same-person min unchanged (0.681), mean 0.771 vs 0.774;
# at 0.85 x 640 the min fell to 0.661.
SEARCH_MIN_SIDE = 576
# Compare's adaptive first pass takes the same cheaper input (the re-detection at MAX_SIDE stays exact).
FIRST_MIN_SIDE = 576
FIRST_SIDE = 640  # adaptive detection's first pass
TINY_FACE = 32.0  # px at the detector's input: a smaller face found triggers a pass at MAX_SIDE
STRIDES = (8, 16, 32)
SCORE_THRESHOLD = 0.6
NMS_THRESHOLD = 0.3
TOP_K = 5000


@dataclass(frozen=True)
class RawDetections:
    """Detector output in original-image pixels, sorted by score (descending)."""

    boxes: npt.NDArray[np.float32]  # (n, 4) left, top, width, height
    landmarks: npt.NDArray[np.float32]  # (n, 5, 2)
    scores: npt.NDArray[np.float32]  # (n,) 0..1

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def input_scale(width: int, height: int, max_side: int = MAX_SIDE) -> float:
    """Downscale factor applied before detection (1.0 for images that already fit)."""
    return min(1.0, max_side / max(width, height))


def nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], threshold: float,
        top_k: int = TOP_K) -> npt.NDArray[np.int64]:
    """Greedy non-maximum suppression on (x, y, w, h) boxes; returns kept indices by score."""
    order = np.argsort(-scores, kind="stable")[:top_k]
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    areas = np.maximum(boxes[:, 2], 0) * np.maximum(boxes[:, 3], 0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= threshold]
    return np.asarray(keep, dtype=np.int64)


class Detector:
    """One YuNet session; `detect()` = preprocess -> run -> postprocess."""

    def __init__(self, session: ort.InferenceSession, *, max_side: int = MAX_SIDE,
                 score_threshold: float = SCORE_THRESHOLD, nms_threshold: float = NMS_THRESHOLD) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]
        self.max_side = max_side
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold

    def preprocess(self, image: Image.Image, max_side: int | None = None, *,
                   min_side: int | None = None) -> tuple[npt.NDArray[np.float32], float]:
        """RGB image -> (1, 3, H32, W32) BGR float blob and the scale applied.

        With `min_side`, a box reduce by an integer factor that brings the longer side into [min_side, max_side]
        is the whole downscale (see reduce_factor); otherwise the image is scaled to exactly max_side."""
        factor, scale = pass_scale(image.width, image.height, max_side or self.max_side, min_side)
        if factor > 1:
            image = image.reduce(factor)
        elif scale < 1.0:
            image = downscale(image, scale)
        pixels = np.asarray(image, dtype=np.uint8)
        h, w = pixels.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
        blob[0, :, :h, :w] = pixels[:, :, ::-1].transpose(2, 0, 1)
        return blob, scale

    def run(self, blob: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        outputs = self.session.run(self.output_names, {self.input_name: blob})
        return dict(zip(self.output_names, outputs, strict=True))

    def postprocess(self, outputs: dict[str, npt.NDArray[np.float32]], blob_hw: tuple[int, int],
                    scale: float) -> RawDetections:
        """Decode the three strides, threshold, NMS, and map back to original pixels."""
        ph, pw = blob_hw
        all_boxes, all_kps, all_scores = [], [], []
        for stride in STRIDES:
            rows, cols = ph // stride, pw // stride
            cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
            obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
            score = np.sqrt(cls * obj)
            mask = score >= self.score_threshold
            if not mask.any():
                continue
            idx = np.nonzero(mask)[0]
            col = (idx % cols).astype(np.float32)
            row = (idx // cols).astype(np.float32)
            if rows * cols != cls.shape[0]:
                raise ValueError(f"YuNet stride {stride}: {cls.shape[0]} anchors for a {rows}x{cols} grid")
            bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[idx]
            kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[idx]
            cx, cy = (col + bbox[:, 0]) * stride, (row + bbox[:, 1]) * stride
            w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
            all_boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
            lx = (kps[:, :, 0] + col[:, None]) * stride
            ly = (kps[:, :, 1] + row[:, None]) * stride
            all_kps.append(np.stack([lx, ly], axis=2))
            all_scores.append(score[idx])
        if not all_scores:
            return RawDetections(np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32),
                                 np.zeros((0,), np.float32))
        boxes = np.concatenate(all_boxes).astype(np.float32)
        kps_all = np.concatenate(all_kps).astype(np.float32)
        scores = np.concatenate(all_scores).astype(np.float32)
        keep = nms(boxes, scores, self.nms_threshold)
        inv = 1.0 / scale
        return RawDetections(boxes[keep] * inv, kps_all[keep] * inv, scores[keep])

    def detect_at(self, image: Image.Image, max_side: int, *, min_side: int | None = None) -> RawDetections:
        """Faces with the image downscaled to a longer side of at most `max_side` (see preprocess for min_side)."""
        blob, scale = self.preprocess(image, max_side, min_side=min_side)
        outputs = self.run(blob)
        return self.postprocess(outputs, (blob.shape[2], blob.shape[3]), scale)

    def detect(self, image: Image.Image, max_side: int | None = None, *, min_side: int | None = None) -> RawDetections:
        """Faces: one pass at `max_side` if given (or between min_side and max_side, see preprocess), else
        adaptive (FIRST_SIDE, or down to min_side by a box reduce; then self.max_side exactly if needed)."""
        if max_side is not None:
            return self.detect_at(image, max_side, min_side=min_side)
        first_side = min(FIRST_SIDE, self.max_side)
        found = self.detect_at(image, first_side, min_side=min_side)  # min_side: the first pass only
        _, scale = pass_scale(image.width, image.height, first_side, min_side)
        if scale >= 1.0 or first_side >= self.max_side:
            return found  # the first pass already saw the image at the largest size allowed
        if len(found) and float(found.boxes[:, 2:].min()) * scale >= TINY_FACE:
            return found
        again = self.detect_at(image, self.max_side)
        logger.debug("re-detected at the larger size", extra={"first": len(found), "second": len(again)})
        return again


def reduce_factor(width: int, height: int, max_side: int, min_side: int | None) -> int:
    """The integer factor whose box reduce alone brings the longer side into [min_side, max_side], else 1.

    Pillow's reduce keeps a partial last box, so the reduced side is ceil(side / factor) and a pixel's
    coordinates scale by exactly the factor."""
    side = max(width, height)
    if min_side is None or side <= max_side:
        return 1
    factor = -(-side // max_side)  # the smallest factor that fits max_side
    return factor if -(-side // factor) >= min_side else 1


def pass_scale(width: int, height: int, max_side: int, min_side: int | None) -> tuple[int, float]:
    """(box-reduce factor, scale) of one detection pass: the reduce alone when it lands in [min_side, max_side]
    (scale 1 / factor), else factor 1 and the exact scale to max_side (see preprocess)."""
    factor = reduce_factor(width, height, max_side, min_side)
    return (factor, 1.0 / factor) if factor > 1 else (1, input_scale(width, height, max_side))


def downscale(image: Image.Image, scale: float) -> Image.Image:
    """`image` scaled by `scale` < 1: box reduce by the integer part of 1/scale, bilinear for the rest."""
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    factor = round(1.0 / scale) if abs(1.0 / scale - round(1.0 / scale)) < 0.02 else int(1.0 / scale)
    if factor >= 2:
        image = image.reduce(factor)
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)
