"""web"""

from saferstreets.web.ids import register as _register_id_convertor

_register_id_convertor()  # before any route module declares an {id:int} path
