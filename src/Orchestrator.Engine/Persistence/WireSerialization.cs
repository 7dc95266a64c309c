using Akka.Configuration;
using Akka.Hosting;
using Orchestrator.Domain;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// Binds <see cref="WireJsonSerializer"/> to <see cref="IWireMessage"/>, for Akka.Hosting (<see cref="AddWireSerialization"/>)
/// and for a bare ActorSystem (<see cref="Config"/>). Akka's default Newtonsoft serializer stays bound to everything
/// else, wrapped by <see cref="LegacyJsonSerializer"/> to read rows written before this binding.
/// </summary>
public static class WireSerialization
{
    public const string Name = "orchestrator-wire";

    /// <summary>The HOCON: the binding, and the serializer that reads old journal rows.</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.{{Name}} = "{{TypeName(typeof(WireJsonSerializer))}}"
          serialization-bindings {
            "{{TypeName(typeof(IWireMessage))}}" = {{Name}}
          }
          # Akka's own "json" serializer (Newtonsoft), wrapped: it still serializes what no binding claims and reads old rows.
          serializers.json = "{{TypeName(typeof(LegacyJsonSerializer))}}"
        }
        """);

    /// <summary>"Namespace.Type, Assembly": what HOCON names a type by (in configuration only, never in data).</summary>
    private static string TypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    public static AkkaConfigurationBuilder AddWireSerialization(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(Config, HoconAddMode.Prepend);
}
