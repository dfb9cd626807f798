"""The README's first command: ``marketing-ops demo`` end to end, as a new
user runs it."""

import subprocess
import sys


def test_demo_tells_the_whole_story_and_cleans_up():
    result = subprocess.run([sys.executable, "-m", "marketing_ops.cli",
                             "demo"], capture_output=True, text=True,
                            timeout=120)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Platforms checked: 6" in out
    assert out.count(" published https://") == 5
    assert "blocked   policy: no-financial-promises" in out
    assert "budget used: 1 of 1" in out
    assert "hn: UNSUPPORTED_AUTH - No API" in out
    assert "The sandbox recorded 5 post(s)" in out
    assert "Traceback" not in result.stderr

    folder = out.split("Throwaway configuration in ")[1].split()[0]
    assert not __import__("os").path.exists(folder)
