namespace Orchestrator.Qcow2.IO;

/// <summary>How image files are opened, as QEMU's cache modes (qemu-img -t/-T).</summary>
public enum CacheMode
{
    /// <summary>Through the page cache (qemu-img's default "writeback").</summary>
    PageCache,

    /// <summary>O_DIRECT with aligned buffers (qemu's cache=none, what production VMs use).</summary>
    Direct,
}
