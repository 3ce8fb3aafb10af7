"""Tests of snn_ros.control."""
