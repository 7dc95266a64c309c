namespace Orchestrator.Domain;

/// <summary>
/// Marks every message, event and snapshot that crosses a process boundary (journal, snapshot store, cluster). One
/// serializer binding covers this marker; each type names itself with <see cref="WireNameAttribute"/>, so no CLR type
/// or assembly name is ever written.
/// </summary>
public interface IWireMessage;
