using System.Diagnostics;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.ImageCommands.Output;

/// <summary>
/// A one-line progress bar on stderr when it is a terminal: percent of address space scanned, bytes copied (data
/// written, never the ranges skipped because the top held them), throughput of those bytes and ETA. It never shows
/// 100 % before <see cref="Complete"/> is called (operators rely on that). A node's job also shows its speed limit
/// and, when not running, its state, as virsh's blockjob --info does. Given a writer, it always draws there.
/// </summary>
public sealed class ProgressBar(string label, TextWriter? output = null) : IProgress<StreamProgress>
{
    private const int Width = 30;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _enabled = output is not null || !Console.IsErrorRedirected;
    private readonly TextWriter _output = output ?? Console.Error;
    private long _lastDrawMs = -1000;

    /// <summary>The job's rate limit in bytes per second; 0 = unlimited (not shown).</summary>
    public long SpeedLimit { get; set; }

    /// <summary>The job's state when it is worth showing ("paused"), else null.</summary>
    public string? State { get; set; }

    public void Report(StreamProgress value)
    {
        if (!_enabled || _clock.ElapsedMilliseconds - _lastDrawMs < 100)
        {
            return;
        }

        _lastDrawMs = _clock.ElapsedMilliseconds;
        var fraction = value.Length == 0 ? 0 : (double)value.Offset / value.Length;
        Draw(Math.Min(fraction, 0.999), value.BytesCopied, Eta(fraction));
    }

    public void Complete(long bytesCopied)
    {
        if (_enabled)
        {
            Draw(1.0, bytesCopied, "done");
            _output.WriteLine();
        }
    }

    private string Eta(double fraction)
    {
        var elapsed = _clock.Elapsed.TotalSeconds;
        if (fraction <= 0.001 || elapsed < 0.2)
        {
            return "ETA --";
        }

        var remaining = elapsed * (1 - fraction) / fraction;
        return $"ETA {TimeSpan.FromSeconds(Math.Ceiling(remaining)):mm\\:ss}";
    }

    private void Draw(double fraction, long bytesCopied, string tail)
    {
        var filled = (int)(fraction * Width);
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        var limit = SpeedLimit > 0 ? $" (limit {Bytes.Human(SpeedLimit)}/s)" : string.Empty;
        var state = State is null ? string.Empty : $"[{State}] ";
        var line = $"\r{label}: [{new string('#', filled)}{new string(' ', Width - filled)}] {fraction * 100,5:0.0} %  "
            + $"{Bytes.Human(bytesCopied)} copied  {Bytes.Human((long)(bytesCopied / seconds))}/s{limit}  {state}{tail,-9}   ";
        _output.Write(line);
    }
}
