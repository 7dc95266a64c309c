using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The one serializer of <see cref="Domain.IWireMessage"/>: System.Text.Json, with the type's
/// <see cref="Domain.WireNameAttribute"/> as the manifest. The journal, the snapshot store and the wire hold only
/// names such as "job.checkpointed.v1" and plain JSON: no CLR type or assembly name, so types may move and be renamed.
/// Enums are written by name (stable when members are added).
/// </summary>
public sealed class WireJsonSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Our serializer id (Akka reserves 0-40 for its own).</summary>
    public const int Id = 8108;

    private static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public override int Identifier => Id;

    public override string Manifest(object o) => WireNames.NameOf(o.GetType());

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var type = WireNames.TypeOf(manifest)
            ?? throw new SerializationException($"no loaded type has the wire name '{manifest}' (is the assembly that declares it loaded?)");
        return JsonSerializer.Deserialize(bytes, type, Options)
            ?? throw new SerializationException($"'{manifest}' deserialized to null");
    }
}
