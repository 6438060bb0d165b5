using Google.Protobuf;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Client;

/// <summary>Core's <see cref="Core.Document"/> (what the ingest readers produce) → the contract's <see cref="Proto.Document"/>.</summary>
public static class DocumentMessages
{
    /// <summary>The message of <paramref name="document"/>: its metadata JSON as a Struct, its ACL when it has one.</summary>
    /// <exception cref="Core.InvalidInputException">The metadata is not a JSON object (names the document).</exception>
    public static Proto.Document From(Core.Document document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var message = new Proto.Document { Id = document.Id, Title = document.Title ?? "", Text = document.Text ?? "" };
        if (document.MetadataJson is { } json)
        {
            try { message.Metadata = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson(json); }
            catch (InvalidProtocolBufferException e)
            { throw new Core.InvalidInputException($"document '{document.Id}': metadata is not a JSON object ({e.Message})") { Setting = "metadata" }; }
        }
        if (document.Acl is { } acl)
        {
            message.Acl = new Proto.Acl();
            message.Acl.Principals.Add(acl.Principals);
            message.Acl.Groups.Add(acl.Groups);
        }
        return message;
    }
}
