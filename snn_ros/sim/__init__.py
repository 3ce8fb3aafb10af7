"""The embedded world: track, differential-drive robot, camera and task reward."""
