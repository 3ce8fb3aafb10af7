"""Tests of the embedded world (snn_ros.sim)."""
