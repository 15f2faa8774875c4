"""breastnet.report imports neither Keras nor TensorFlow, directly or through what it imports."""

import subprocess
import sys

CHECK = """
import sys
from breastnet import report
report.runs_frame([])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"keras", "tensorflow", "torch", "jax", "matplotlib"})
print(",".join(heavy))
"""


def test_report_imports_no_keras_and_no_backend():
    # A fresh interpreter: in this one another test may have imported Keras already.
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"breastnet.report imported {done.stdout.strip()}"  # matplotlib: when drawing
