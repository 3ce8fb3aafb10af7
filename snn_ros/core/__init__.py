"""Core: time, neuron models, network, the event-driven engine, plasticity, weight files."""
