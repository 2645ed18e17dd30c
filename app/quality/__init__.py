"""Swap quality scored the way face-swap papers score it, independent of the training code.

Every score compares a merged (result) frame with the dst frame it replaced, measured with
tools the trainer never sees (dlib's detector, 68-point predictor and recognition net, OpenCV):

- identity (`identity_scores`): is the result nearer the src person than the dst person?
- pose (`head_pose`): does the head turn as in dst (solvePnP on the landmarks)?
- expression (`mouth_opening`): does the mouth open and close as in dst?
- gaze (`gaze`): do the pupils sit in the eyes where dst's do (the iris net's pupils)?
- sharpness (`laplacian_variance`): detail inside the face, result / dst;
- seam (`seam_step`): colour and gradient step across the face edge beyond dst's own;
- flicker (`frame_change`): frame-to-frame change of the face, result / dst.

`score_frames(result, dst, src_refs)` runs them all and returns a `QualityReport`; the demo and
bench/quality.py print it with `QualityReport.lines()` / `table_row()`.
"""

from app.quality.expression import mouth_opening, pearson
from app.quality.faces import FaceObs, observe
from app.quality.flicker import frame_change
from app.quality.gaze import gaze
from app.faceset.head_pose import head_pose
from app.quality.region import face_hull_mask
from app.quality.report import QualityReport, score_frames
from app.quality.seam import seam_step
from app.quality.sharpness import laplacian_variance

__all__ = ["FaceObs", "QualityReport", "face_hull_mask", "frame_change", "gaze", "head_pose",
           "laplacian_variance", "mouth_opening", "observe", "pearson", "score_frames",
           "seam_step"]
