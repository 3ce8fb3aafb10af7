# Two commands for a machine without ROS: `make demo` and `make test`.
# Each creates or refreshes the environment in .venv/ first (seconds when nothing changed).

VENV := .venv
# DDS stays on this machine: unicast discovery on loopback, a domain id of the run's own.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_DOMAIN_ID ?= $(shell echo $$(( $$$$ % 100 + 1 )))

.PHONY: env test demo doctor clean

env:
	@bash scripts/setup_env.sh

test: env
	$(VENV)/bin/python -m pytest

demo: env
	$(VENV)/bin/snn-ros demo

doctor: env
	$(VENV)/bin/snn-ros doctor

clean:
	rm -rf $(VENV) build install log .pytest_cache
