"""The application layer: the ``finpulse`` command line, ``finpulse up`` with its process
supervisor, and the local Kafka broker. It imports the kernel (``finpulse``) and the parts;
nothing imports it but entry points, tests and benchmarks."""
