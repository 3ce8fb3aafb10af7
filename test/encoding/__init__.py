"""Tests of snn_ros.encoding."""
