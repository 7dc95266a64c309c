namespace Orchestrator.Nbd;

/// <summary>Limits of an <see cref="NbdServer"/>; out-of-range values throw at construction, naming the option.</summary>
public sealed record NbdServerOptions
{
    private readonly TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly int _maxRequestsPerConnection = 64;
    private readonly long _maxBytesPerConnection = 64L * 1024 * 1024;
    private readonly long _maxBytesPerServer = 256L * 1024 * 1024;
    private readonly long _retainedBytes = 16L * 1024 * 1024;

    /// <summary>The smallest byte budget that still serves the largest request (its payload and the reply header in front).</summary>
    public const long MinimumByteBudget = NbdLimits.MaximumPayload + NbdBuffer.DataOffset;

    /// <summary>A client that has not entered transmission within this time is disconnected (idle half-open connections).</summary>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        init => _handshakeTimeout = value > TimeSpan.Zero && value <= TimeSpan.FromHours(1)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), value, "must be more than zero and at most an hour");
    }

    /// <summary>Requests one connection may have in flight; the server stops reading that client's requests beyond it.</summary>
    public int MaxRequestsPerConnection
    {
        get => _maxRequestsPerConnection;
        init => _maxRequestsPerConnection = value is >= 1 and <= 4096
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxRequestsPerConnection), value, "must be between 1 and 4096");
    }

    /// <summary>Payload bytes one connection may hold in buffers at once (requests read, replies not yet sent).</summary>
    public long MaxBytesPerConnection
    {
        get => _maxBytesPerConnection;
        init => _maxBytesPerConnection = value >= MinimumByteBudget
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxBytesPerConnection), value, $"must be at least {MinimumByteBudget} (the largest request)");
    }

    /// <summary>Payload bytes all connections together may hold in buffers at once: the server's NBD memory bound.</summary>
    public long MaxBytesPerServer
    {
        get => _maxBytesPerServer;
        init => _maxBytesPerServer = value >= MinimumByteBudget
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxBytesPerServer), value, $"must be at least {MinimumByteBudget} (the largest request)");
    }

    /// <summary>Freed buffers kept for reuse, at most this many bytes; the rest goes back to the operating system at once.</summary>
    public long RetainedBytes
    {
        get => _retainedBytes;
        init => _retainedBytes = value >= 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(RetainedBytes), value, "must not be negative");
    }
}
