// The Vant components the pages use, registered once (only these are in
// the bundle).
import {
  Button,
  Cell,
  CellGroup,
  Dialog,
  Empty,
  Field,
  Form,
  Icon,
  List,
  NavBar,
  PullRefresh,
  Switch,
  Tab,
  Tabbar,
  TabbarItem,
  Tabs,
  Tag,
  Toast,
} from 'vant'
import 'vant/lib/index.css'
import './base.css'

export function useVant(app) {
  for (const c of [Button, Cell, CellGroup, Dialog, Empty, Field, Form, Icon, List, NavBar, PullRefresh, Switch, Tab, Tabbar, TabbarItem, Tabs, Tag, Toast]) {
    app.use(c)
  }
}
