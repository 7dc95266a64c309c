namespace Orchestrator.Nbd;

/// <summary>The base:allocation context's state bits of one extent (NBD_STATE_*).</summary>
[Flags]
public enum NbdExtentFlags : uint
{
    /// <summary>Allocated data.</summary>
    Data = 0,

    /// <summary>NBD_STATE_HOLE: no data is allocated for the range (reads come from nowhere, or as zeroes).</summary>
    Hole = 1 << 0,

    /// <summary>NBD_STATE_ZERO: the range reads as zeroes.</summary>
    Zero = 1 << 1,
}
