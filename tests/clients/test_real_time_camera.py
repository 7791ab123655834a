"""real-time-camera: each answer stays on its own face, and without a display it writes a video."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from clients.real_time_camera import pick_face, recognise
from edge.client import ApiClient
from edge.pipeline import FaceCropper
from tests.clients.conftest import run_cli
from tests.conftest import FACES
from tests.edge.conftest import CLIP

SCENE = FACES / "scenes" / "obama_and_biden.jpg"


def jpeg_size(jpeg: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return f"{image.shape[1]}x{image.shape[0]}"


@pytest.mark.parametrize("threads", [0, 4])
def test_answers_stay_tied_to_their_box_when_small_faces_are_dropped(stub_api, detector, threads):
    # The stand-in API names each face after its crop's size and answers after a delay, so with
    # threads the answers come back out of order; each must still land on the crop it belongs to.
    api = stub_api("--label-by-size", "--delay", "0.05")
    frame = cv2.imread(str(SCENE))
    widths = sorted(d.width for d in detector.detect(frame))
    cropper = FaceCropper(detector, min_size=widths[0] + 1, max_size=150)
    crops = cropper.crops(frame)
    assert len(crops) == len(widths) - 1 >= 2  # the smallest face was dropped
    pool = ThreadPoolExecutor(threads) if threads else None
    with ApiClient(api.url) as client:
        results = recognise(client, crops, pool)
    if pool:
        pool.shutdown()
    assert [crop for crop, _ in results] == crops
    for crop, answer in results:
        assert answer.label == jpeg_size(crop.jpeg)


def test_the_face_we_cropped_is_picked_from_an_answer_with_a_neighbour():
    answer = {
        "faces": [
            {
                "bounding_box": {"left": 0, "top": 0, "right": 20, "bottom": 30},
                "top_prediction": {},
            },
            {
                "bounding_box": {"left": 30, "top": 25, "right": 130, "bottom": 150},
                "top_prediction": {},
            },
        ]
    }
    assert pick_face(answer, (25, 25, 125, 150))["bounding_box"]["left"] == 30
    assert pick_face(answer, (200, 200, 250, 250)) is None
    assert pick_face({"faces": []}, (0, 0, 10, 10)) is None


def test_without_a_display_it_writes_an_annotated_video(stub_api, tmp_path):
    api = stub_api()
    output = tmp_path / "annotated.mp4"
    result = run_cli(
        "real_time_camera", "--source", str(CLIP), "--max-frames", "40", "--api-url", api.url,
        "--no-display", "--output", str(output), "--multithreading", "--min-size", "50",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "frames: 40" in result.stdout
    capture = cv2.VideoCapture(str(output))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    capture.release()
    faces = int(result.stdout.split("faces: ")[1].split()[0])
    assert api.stats()["uploads"] == faces > 0


def test_no_display_and_no_output_is_a_clear_error():
    result = run_cli(
        "real_time_camera", "--source", str(CLIP), "--ip-address", "127.0.0.1:9", "--no-display"
    )
    assert result.returncode == 2
    assert "--output" in result.stderr and "Traceback" not in result.stderr


def test_api_down_is_drawn_as_an_error_not_a_crash(tmp_path):
    from tests.edge.conftest import free_port

    result = run_cli(
        "real_time_camera", "--source", str(SCENE), "--api-url", f"http://127.0.0.1:{free_port()}",
        "--retries", "0", "--no-display", "--output", str(tmp_path / "out.mp4"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "error no answer" in result.stdout
