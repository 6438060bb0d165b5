namespace DeepSeek.Search.Service.Auth;

/// <summary>What a key may do on a collection; each right includes the ones below it (admin ⊃ write ⊃ read).</summary>
public enum AccessRight
{
    /// <summary>Search, read documents, describe and list collections.</summary>
    Read = 1,
    /// <summary>Read, plus upsert and delete documents.</summary>
    Write = 2,
    /// <summary>Write, plus create and drop collections. Never a way past document ACLs.</summary>
    Admin = 3,
}
