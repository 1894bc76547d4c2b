import Foundation
import OPTSupport

/// The category consolidation map: each category name of any source resolves to one consolidated
/// name (Super-NI's where one fits), merging near-duplicates as the paper does.
public struct Taxonomy: Sendable {
    /// Where the map was read: "builtin" or a file path.
    public let origin: String
    /// The file's bytes, for the manifest's content hash.
    public let data: Data
    private let canonical: [String: String]

    /// The map shipped with optiml (`Sources/OPTBench/Resources/taxonomy.json`).
    public static func builtin() throws -> Taxonomy {
        guard let url = Bundle.module.url(forResource: "taxonomy", withExtension: "json") else {
            throw BenchError.unreadableFile(path: "taxonomy.json", reason: "the resource is missing from the OPTBench bundle")
        }
        return try Taxonomy(file: url, origin: "builtin")
    }

    /// A user's map in the same format: `{"categories": [{"name": ..., "aliases": [...]}, ...]}`.
    public init(file: URL, origin: String? = nil) throws {
        let data: Data
        do { data = try Data(contentsOf: file) } catch { throw BenchError.unreadableFile(path: file.path, reason: FileProblem.reason(error)) }
        try self.init(data: data, path: file.path, origin: origin ?? file.path)
    }

    init(data: Data, path: String, origin: String) throws {
        let top = try JSONFields(try LenientJSON.object(from: data, path: path), path: path)
        var canonical: [String: String] = [:]
        for (index, value) in try top.objects("categories", required: true).enumerated() {
            let entry = try JSONFields(value, path: path, what: "categories[\(index)]")
            let name: String
            do { name = try entry.string("name") } catch { throw BenchError.missingKey(path: path, key: "categories[\(index)].name") }
            for alias in [name] + (try entry.strings("aliases")) {
                let key = Self.normalized(alias)
                if let other = canonical[key], other != name {
                    throw BenchError.malformedFile(path: path, line: nil,
                                                   reason: "categories[\(index)]: \(alias.debugDescription) already maps to \(other.debugDescription)")
                }
                canonical[key] = name
            }
        }
        self.canonical = canonical
        self.origin = origin
        self.data = data
    }

    /// Case-insensitive, with runs of whitespace, `_` and `-` read as one space.
    static func normalized(_ name: String) -> String {
        name.lowercased().split(whereSeparator: { $0.isWhitespace || $0 == "_" || $0 == "-" }).joined(separator: " ")
    }

    /// The consolidated name, or nil when the map does not know the category.
    public func consolidated(_ category: String) -> String? { canonical[Self.normalized(category)] }

    /// Consolidated names of a task's categories (unknown ones kept as they are), without repeats, in order.
    public func consolidate(_ categories: [String]) -> [String] {
        var seen = Set<String>()
        return categories.map { consolidated($0) ?? $0 }.filter { seen.insert($0).inserted }
    }
}
