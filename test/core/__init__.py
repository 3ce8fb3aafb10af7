"""Tests of snn_ros.core."""
