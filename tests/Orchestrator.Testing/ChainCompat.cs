namespace Orchestrator.Testing;

/// <summary>qcow2 compatibility level passed to <c>qemu-img create -o compat=...</c>.</summary>
public enum ChainCompat
{
    /// <summary>qcow2 version 3, <c>compat=1.1</c> (QEMU's default).</summary>
    V3,

    /// <summary>qcow2 version 2, <c>compat=0.10</c>: no zero flag, so zero writes allocate or discard.</summary>
    V2,
}
