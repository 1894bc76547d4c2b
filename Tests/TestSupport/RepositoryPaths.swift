import Foundation

/// Where the tests' inputs are: the package root, found from this file (symlinks resolved first, so that
/// test sources linked into a scratch package find it too), the committed fixtures under it and the shared
/// data beside the checkout (absent on some machines).
public enum RepositoryPaths {
    /// The nearest folder above this file holding Package.swift.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// `Tests/Fixtures/<path>`.
    public static func fixtures(_ path: String) -> URL { packageRoot.appendingPathComponent("Tests/Fixtures/" + path) }

    /// `../shared/data/<path>`, beside the checkout.
    public static func sharedData(_ path: String) -> URL {
        packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/" + path)
    }
}
