using System.Text;

namespace Orchestrator.Node.Qmp;

/// <summary>
/// Splits a QMP byte stream into JSON objects. QMP clients need not end a command with a newline (QEMU's own parser
/// is a streaming one), so objects are found by brace depth, minding strings and escapes. An object larger than
/// <see cref="MaxObjectBytes"/> ends the session: nothing legitimate is that big.
/// </summary>
public sealed class QmpFramer
{
    public const int MaxObjectBytes = 1024 * 1024;

    private readonly List<byte> _current = [];
    private int _depth;
    private bool _inString;
    private bool _escaped;

    /// <summary>Feeds bytes; returns the complete objects they finish (as UTF-8 text).</summary>
    public IReadOnlyList<string> Feed(ReadOnlySpan<byte> bytes)
    {
        List<string>? done = null;
        foreach (var b in bytes)
        {
            if (_depth == 0 && b != (byte)'{')
            {
                // Whitespace between objects; anything else outside an object is QEMU's "JSON parse error", kept
                // as a one-character object so the session can answer it.
                if (!char.IsWhiteSpace((char)b))
                {
                    (done ??= []).Add(((char)b).ToString());
                }

                continue;
            }

            _current.Add(b);
            if (_current.Count > MaxObjectBytes)
            {
                throw new InvalidDataException($"a QMP command is larger than {MaxObjectBytes} bytes");
            }

            if (_inString)
            {
                if (_escaped)
                {
                    _escaped = false;
                }
                else if (b == (byte)'\\')
                {
                    _escaped = true;
                }
                else if (b == (byte)'"')
                {
                    _inString = false;
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    _inString = true;
                    break;
                case (byte)'{' or (byte)'[':
                    _depth++;
                    break;
                case (byte)'}' or (byte)']':
                    _depth--;
                    if (_depth == 0)
                    {
                        (done ??= []).Add(Encoding.UTF8.GetString([.. _current]));
                        _current.Clear();
                    }

                    break;
            }
        }

        return done ?? (IReadOnlyList<string>)[];
    }
}
