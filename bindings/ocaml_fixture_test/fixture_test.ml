(* Exercises the OCaml generated from the golden fixture (tests/golden/idl): defaults, option
   fields and arguments, unit and option payloads, the fallback constructor, keyword names and
   bare wire names. Exits 1 on any failure. *)

open Fixture

let failures = ref 0

let check_eq name expected actual =
  if expected <> actual then (
    incr failures;
    Printf.printf "FAIL %s\n  expected: %s\n  actual:   %s\n%!" name expected actual)

let parse = Yojson.Safe.from_string
let print = Yojson.Safe.to_string

let sent = ref []

module T = struct
  let rpc request =
    sent := request :: !sent;
    {|{"result":null,"error":["Not_found","x"],"id":1}|}
end

module K = Things.Keeper_client (T)
module Tc = Things.Top_client (T)

let last () = match !sent with r :: _ -> r | [] -> ""

let calls () =
  ignore (K.get "d" [ "a" ] None);
  check_eq "absent option argument" {|{"method":"Keeper.get","params":[{"names":["a"],"dbg":"d"}],"id":1}|} (last ());
  ignore (K.get "d" [] (Some 5));
  check_eq "present option argument" {|{"method":"Keeper.get","params":[{"timeout":5,"names":[],"dbg":"d"}],"id":2}|} (last ());
  ignore (K.count ());
  check_eq "unit argument" {|{"method":"Keeper.count","params":[{"unit":null}],"id":3}|} (last ());
  ignore (Tc.describe "d" Types.Nothing);
  check_eq "bare wire name" {|{"method":"describe","params":[{"thing":"Nothing","dbg":"d"}],"id":4}|} (last ());
  check_eq "error decoded" "Not_found x"
    (match K.delete "d" "n" with Error (Types.Not_found s) -> "Not_found " ^ s | _ -> "other")

let values () =
  let item = Types.item_of_json (parse {|{"name":"n","count":1,"ratio":1,"ranges":[[1,2]],"extra":{"a":[1]},"class":"c"}|}) in
  check_eq "defaults" "plain true 0 none" 
    (Printf.sprintf "%s %b %Ld %s" item.kind item.enabled item.size
       (match item.shape with None -> "none" | Some _ -> "some"));
  check_eq "item written"
    {|{"class":"c","extra":{"a":[1]},"ranges":[[1,2]],"tags":[],"labels":{},"ratio":1.0,"count":1,"size":0,"enabled":true,"kind":"plain","name":"n"}|}
    (print (Types.item_to_json item));
  let malformed = Types.item_of_json (parse {|{"name":"n","count":1,"ratio":1.5,"ranges":[],"extra":null,"class":"c","shape":"Hexagon","enabled":"yes"}|}) in
  check_eq "malformed fields take their defaults" "circle true"
    (Printf.sprintf "%s %b" (match malformed.shape with Some Types.Circle -> "circle" | _ -> "other") malformed.enabled);
  List.iter
    (fun sample -> check_eq ("thing " ^ sample) sample (print (Types.thing_to_json (Types.thing_of_json (parse sample)))))
    [ {|"Nothing"|}; {|["Label","l"]|}; {|["Pair",[1,"Square"]]|}; {|["Maybe",[]]|}; {|["Maybe",["x"]]|}; {|"Empty"|} ];
  check_eq "fallback" {|"Unknown"|} (print (Types.failure_to_json (Types.failure_of_json (parse {|["Whatever","x"]|}))));
  check_eq "two payloads" {|["Mismatch",["a","b"]]|}
    (print (Types.failure_to_json (Types.failure_of_json (parse {|["mismatch",["a","b"]]|}))))

module Keeper_impl = struct
  let put _ (item : Types.item) = Ok item.name
  let get _ names timeout =
    Ok ([], Printf.sprintf "%d names, timeout %s" (List.length names)
              (match timeout with None -> "none" | Some t -> string_of_int t))
  let delete _ name = Error (Types.Not_found name)
  let count () = Ok 42
end

module S = Things.Keeper_server (Keeper_impl)

let server () =
  check_eq "server, option argument absent" {|{"result":[[],"1 names, timeout none"],"error":null,"id":1}|}
    (S.dispatch {|{"method":"Keeper.get","params":[{"names":["a"],"dbg":"d"}],"id":1}|});
  check_eq "server, option argument present" {|{"result":[[],"0 names, timeout 7"],"error":null,"id":2}|}
    (S.dispatch {|{"method":"Keeper.get","params":[{"names":[],"timeout":7,"dbg":"d"}],"id":2}|});
  check_eq "server, unit argument" {|{"result":42,"error":null,"id":3}|}
    (S.dispatch {|{"method":"Keeper.count","params":[{"unit":null}],"id":3}|});
  check_eq "server, error" {|{"result":null,"error":["Not_found","n"],"id":4}|}
    (S.dispatch {|{"method":"Keeper.delete","params":[{"name":"n","dbg":"d"}],"id":4}|});
  check_eq "server, removed method" {|{"result":null,"error":["UnknownMethod","Keeper.legacy"],"id":5}|}
    (S.dispatch {|{"method":"Keeper.legacy","params":[{"dbg":"d"}],"id":5}|})

let () =
  calls ();
  values ();
  server ();
  if !failures > 0 then (
    Printf.printf "%d failure(s)\n" !failures;
    exit 1)
  else print_endline "fixture_test: all checks passed"
