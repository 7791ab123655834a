"""`facerec-batch`: recognise the people in recorded videos and photos with Spark.

The driver lists the inputs and cuts long videos into time segments (`inputs.py`); each Spark
task samples its segment's frames (`frames.py`) and runs the edge's UltraFace, then the cloud's
MTCNN -> FaceNet -> SVM on every face (`recognizer.py`, loaded once per Python worker); the
edge's tracker follows the faces and the service's TrackJudge decides each track (`tracks.py`);
a per-file pass joins the tracks that cross a segment border (`stitch.py`); crops and tracks go
to Parquet and, with `--store`, replace that file's crops and tracks in the database
(`store.py`).
"""

from batch.inputs import InputError, WorkItem, expand_inputs, plan_work

__all__ = ["InputError", "WorkItem", "expand_inputs", "plan_work"]
