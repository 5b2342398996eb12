"""Scale and identity bindings of the Docker blueprint (see components/bindings.py).

Labels carry the stage's tags in sorted order, so a label value at a given index differs only
because the stage's identity does.
"""

from components.bindings import Binding

CONTAINER = "docker:index/container:Container"

BINDINGS: tuple[Binding, ...] = (
    Binding("docker:*", "labels[*].value", "identity:stage"),
    Binding("docker:index/network:Network", "ipamConfigs[*].subnet", "identity:cidr"),
    Binding("docker:index/network:Network", "ipamConfigs[*].gateway", "identity:cidr"),
    Binding(CONTAINER, "memory", "scale:services.*.memory"),
    # Swap is set equal to memory (no swap), so it follows the same scale key.
    Binding(CONTAINER, "memorySwap", "scale:services.*.memory"),
    Binding(CONTAINER, "cpus", "scale:services.*.cpu"),
    # One container per minimum replica; the proxy lists each as an upstream.
    Binding(CONTAINER, "exists", "scale:services.*.minReplicas"),
    Binding("docker:index/volume:Volume", "exists", "scale:services.*.minReplicas"),
    Binding(CONTAINER, "uploads[*].content", "scale:services.*.minReplicas"),
    Binding(CONTAINER, "options.dependsOn", "scale:services.*.minReplicas"),
    Binding(
        "docker:index/volume:Volume", "options.retainOnDelete", "scale:database.deletionProtection"
    ),
    Binding(CONTAINER, "options.retainOnDelete", "scale:database.deletionProtection"),
)
