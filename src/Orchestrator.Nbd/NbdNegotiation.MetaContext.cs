using System.Buffers.Binary;
using System.Text;
using Orchestrator.Nbd.Protocol;

namespace Orchestrator.Nbd;

/// <summary>NBD_OPT_STRUCTURED_REPLY and the metadata-context options: the one context served is base:allocation.</summary>
internal sealed partial class NbdNegotiation
{
    private async Task StructuredReplyAsync(uint length, CancellationToken cancel)
    {
        if (length != 0)
        {
            await ReplyErrorAsync(NbdOption.StructuredReply, NbdOptionReply.ErrorInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data", cancel);
            return;
        }

        _structured = true;
        await ReplyAsync(NbdOption.StructuredReply, NbdOptionReply.Ack, ReadOnlyMemory<byte>.Empty, cancel);
    }

    /// <summary>
    /// Data: 32-bit export name length, the name, 32-bit query count, then each query as a 32-bit length and a string.
    /// SET selects base:allocation when asked for by its full name (and forgets any earlier selection); LIST names it
    /// for no query, "base:" or its full name. Other namespaces are not ours: no reply for them, as the specification says.
    /// </summary>
    private async Task MetaContextAsync(NbdOption option, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        var set = option == NbdOption.SetMetaContext;
        if (set)
        {
            _allocationContextExport = null;
        }

        if (set && !_structured)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorInvalid, "NBD_OPT_SET_META_CONTEXT needs NBD_OPT_STRUCTURED_REPLY first", cancel);
            return;
        }

        if (ParseMetaContext(data.Span) is not var (nameBytes, queries))
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorInvalid, "malformed metadata context request (lengths run past the option's data)", cancel);
            return;
        }

        var name = DecodeName(data.Slice(4, nameBytes));
        var export = name is null ? null : await exports.FindAsync(name, cancel);
        if (export is null)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorUnknown, $"unknown export '{name}'", cancel);
            return;
        }

        var selected = set
            ? queries.Contains(NbdSession.AllocationContextName)
            : queries.Count == 0 || queries.Contains("base:") || queries.Contains(NbdSession.AllocationContextName);
        if (selected)
        {
            var contextName = Encoding.UTF8.GetBytes(NbdSession.AllocationContextName);
            var reply = new byte[4 + contextName.Length];
            BinaryPrimitives.WriteUInt32BigEndian(reply, set ? NbdSession.AllocationContextId : 0);
            contextName.CopyTo(reply, 4);
            await ReplyAsync(option, NbdOptionReply.MetaContext, reply, cancel);
            if (set)
            {
                _allocationContextExport = export.Name;
            }
        }

        await ReplyAsync(option, NbdOptionReply.Ack, ReadOnlyMemory<byte>.Empty, cancel);
    }

    /// <summary>The export name's length and the queries, or null when a length runs past the data.</summary>
    private static (int NameBytes, List<string> Queries)? ParseMetaContext(ReadOnlySpan<byte> span)
    {
        if (span.Length < 8)
        {
            return null;
        }

        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(span);
        if (nameLength > (uint)span.Length - 8)
        {
            return null;
        }

        var position = 4 + (int)nameLength;
        var count = BinaryPrimitives.ReadUInt32BigEndian(span[position..]);
        position += 4;
        var queries = new List<string>();
        for (var i = 0u; i < count; i++)
        {
            if (span.Length - position < 4)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(span[position..]);
            position += 4;
            if (length > (uint)(span.Length - position) || length > NbdLimits.MaximumStringBytes)
            {
                return null;
            }

            queries.Add(Encoding.UTF8.GetString(span.Slice(position, (int)length)));
            position += (int)length;
        }

        return position == span.Length ? ((int)nameLength, queries) : null;
    }
}
