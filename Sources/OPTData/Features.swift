import Foundation

/// A `datasets` feature type, as its JSON (`dataset_info.json`, or the Arrow schema metadata `huggingface`) gives it.
public indirect enum Feature: Sendable, Equatable {
    /// `Value(dtype)`: "int64", "string", "float32", "bool", ...
    case value(dtype: String)
    /// `ClassLabel(names=...)`: the stored int64 is an index into `names`.
    case classLabel(names: [String])
    /// `Sequence`, `List` or `LargeList` of a feature; `length` for fixed-length sequences.
    case list(Feature, length: Int?)
    /// A dict of features (a struct column).
    case record([NamedFeature])
    /// Any other feature (`Image`, `Audio`, `Translation`, ...): its `_type` and its JSON.
    case other(type: String, json: DatasetValue)
}

public struct NamedFeature: Sendable, Equatable {
    public var name: String
    public var feature: Feature
    public init(name: String, feature: Feature) {
        self.name = name
        self.feature = feature
    }
}

/// The features of a dataset: its columns' `datasets` types in order.
public struct Features: Sendable, Equatable {
    public var columns: [NamedFeature]

    public init(columns: [NamedFeature]) { self.columns = columns }

    public subscript(name: String) -> Feature? { columns.first { $0.name == name }?.feature }

    /// The ClassLabel columns and their label names, by column name (nested ones as "outer.inner").
    public var classLabels: [String: [String]] {
        var out: [String: [String]] = [:]
        func walk(_ feature: Feature, _ path: String) {
            switch feature {
            case .classLabel(let names): out[path] = names
            case .list(let inner, _): walk(inner, path)
            case .record(let fields): for f in fields { walk(f.feature, path + "." + f.name) }
            default: break
            }
        }
        for c in columns { walk(c.feature, c.name) }
        return out
    }

    /// Features from the JSON object of features (`{"label": {"_type": "ClassLabel", "names": [...]}, ...}`).
    public static func parse(_ json: DatasetValue) throws(DataError) -> Features {
        guard case .record(let object) = json else {
            throw DataError(.wrongShape("features must be an object"), file: "<features>")
        }
        return Features(columns: object.fields.map { NamedFeature(name: $0.key, feature: feature($0.value)) })
    }

    /// Features from the `huggingface` schema metadata JSON (`{"info": {"features": ...}}`).
    public static func parse(metadataJSON text: String) throws(DataError) -> Features {
        let value: DatasetValue
        do { value = try JSONParser.parse(Array(text.utf8)) } catch { throw error.dataError(file: "<huggingface metadata>") }
        guard let features = value["info"]?["features"] else {
            throw DataError(.wrongShape("no info.features in the huggingface metadata"), file: "<huggingface metadata>")
        }
        return try parse(features)
    }

    /// Features from a `dataset_info.json` file.
    public static func load(datasetInfo url: URL) throws(DataError) -> Features {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError(.unreadable(error.localizedDescription), url: url) }
        let value: DatasetValue
        do { value = try JSONParser.parse([UInt8](data)) } catch { throw error.dataError(file: url.path) }
        guard let features = value["features"] else {
            throw DataError(.wrongShape("no \"features\" in dataset_info.json"), url: url)
        }
        do { return try parse(features) } catch { throw DataError(error.kind, url: url) }
    }

    static func feature(_ json: DatasetValue) -> Feature {
        switch json {
        case .list(let items) where items.count == 1:
            return .list(feature(items[0]), length: nil)  // [feature]: a list
        case .record(let object):
            guard let type = object["_type"]?.stringValue else {
                return .record(object.fields.map { NamedFeature(name: $0.key, feature: feature($0.value)) })
            }
            switch type {
            case "Value":
                return .value(dtype: object["dtype"]?.stringValue ?? "unknown")
            case "ClassLabel":
                if let names = object["names"]?.listValue {
                    return .classLabel(names: names.compactMap(\.stringValue))
                }
                let n = Int(object["num_classes"]?.intValue ?? 0)
                return .classLabel(names: (0..<max(n, 0)).map(String.init))
            case "Sequence", "List", "LargeList":
                let length = object["length"]?.intValue.flatMap { $0 >= 0 ? Int($0) : nil }
                return .list(feature(object["feature"] ?? .null), length: length)
            default:
                return .other(type: type, json: json)
            }
        default:
            return .other(type: "unknown", json: json)
        }
    }
}

extension Feature: CustomStringConvertible {
    public var description: String {
        switch self {
        case .value(let dtype): return "Value(\(dtype))"
        case .classLabel(let names): return "ClassLabel(\(names.joined(separator: ", ")))"
        case let .list(inner, length): return "List(\(inner)" + (length.map { ", length: \($0)" } ?? "") + ")"
        case .record(let fields): return "{" + fields.map { "\($0.name): \($0.feature)" }.joined(separator: ", ") + "}"
        case .other(let type, _): return type
        }
    }
}
