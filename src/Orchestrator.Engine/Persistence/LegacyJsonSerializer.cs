using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Newtonsoft.Json.Linq;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The read-only path for journals written before <see cref="WireJsonSerializer"/>: their rows carry the identifier of
/// Akka's Newtonsoft serializer (1), which this class takes over, delegating to that serializer. Rows are read as they
/// were written (with .NET type names), except the one event that changed shape: <see cref="JobCreated"/> held the
/// whole <see cref="Job"/> record ({"Job": {...}}), which is read into today's parameters. (A Newtonsoft converter
/// cannot do it: Newtonsoft picks converters by the declared type, and a journal row is declared as object.) New rows
/// never come here: every event and snapshot is an IWireMessage, bound to the wire serializer.
/// </summary>
public sealed class LegacyJsonSerializer : Serializer
{
    /// <summary>The identifier of Akka's NewtonSoftJsonSerializer, under which the old rows were written.</summary>
    public const int NewtonsoftId = 1;

    private static readonly byte[] OldJobCreated = Encoding.UTF8.GetBytes("\"$type\":\"Orchestrator.Domain.Jobs.JobCreated, ");
    private readonly NewtonSoftJsonSerializer _newtonsoft;

    public LegacyJsonSerializer(ExtendedActorSystem system)
        : base(system)
    {
        _newtonsoft = new NewtonSoftJsonSerializer(system);
    }

    /// <summary>The constructor Akka calls when "akka.actor.serialization-settings.json" exists (the reference config has it).</summary>
    public LegacyJsonSerializer(ExtendedActorSystem system, Akka.Configuration.Config config)
        : this(system)
    {
        // The wrapped serializer reads that same section itself.
        _ = config;
    }

    public override int Identifier => NewtonsoftId;

    public override bool IncludeManifest => _newtonsoft.IncludeManifest;

    public override byte[] ToBinary(object obj) => _newtonsoft.ToBinary(obj);

    public override object FromBinary(byte[] bytes, Type type)
    {
        if (bytes.AsSpan().IndexOf(OldJobCreated) < 0)
        {
            return _newtonsoft.FromBinary(bytes, type);
        }

        var row = JObject.Parse(Encoding.UTF8.GetString(bytes));
        if (row["Job"] is not JObject job)
        {
            throw new System.Runtime.Serialization.SerializationException("an old JobCreated row without its 'Job' record: the journal row is damaged");
        }

        // The job as it was created: the record's parameters, whatever status and progress it was stored with.
        var record = (Job)_newtonsoft.FromBinary(Encoding.UTF8.GetBytes(job.ToString(Newtonsoft.Json.Formatting.None)), typeof(Job));
        return JobCreated.Of(record);
    }
}
