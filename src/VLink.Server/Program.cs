using VLink.Server.Hosting;

VLinkServerApp.Build(args).Run();

/// <summary>The server's entry point (public so that tests can host it with <c>WebApplicationFactory</c>).</summary>
public partial class Program;
